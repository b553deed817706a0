"""A counter PC's signing chain and operating system at a glance, from its ``device_state`` row.

The signing chain (issue 23) is what a clerk needs to sign a result: a signing bridge that
answers ready (``signing_plugin_*``), a USB token plugged in (``token_present``) and a
certificate on it that has not expired (``signing_cert_expiry_days``). Each sample row of the
device state carries the time it was measured, so days left count on to now, and certificates
of an older token round than the newest (the token since unplugged) are shown as last seen,
not as present. The tickets are the alert engine's (``alerts/detectors/signing.py``); this
only shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from inventory.os_support import OsSupportTable, os_status

# The bridges by the agent's plugin label (agent/checks/signing/config.py).
PLUGIN_NAMES = {"vnpt_ca": "VNPT-CA Plugin", "vgca": "VGCA Sign Service"}
# Colour a certificate this close to expiry (the alert rules' own threshold lives in
# alerts/rules.yaml; the page only needs to draw the eye).
CERT_WARN_DAYS = 30.0
TokenState = Literal["present", "absent", "unknown", ""]
PluginState = Literal["ready", "not_ready", "no_answer"]


@dataclass(frozen=True, slots=True)
class PluginView:
    """One signing bridge: ready, answered but not ready, or no answer."""

    name: str
    state: PluginState


@dataclass(frozen=True, slots=True)
class CertView:
    """A certificate on a token, its days left counted to now."""

    holder: str
    issuer: str
    serial: str
    days_left: float
    # Read in the newest token round (the token is plugged in), else last seen earlier.
    current: bool

    @property
    def expires(self) -> str:
        """``ok``, ``soon`` (within CERT_WARN_DAYS) or ``expired``."""
        if self.days_left < 0:
            return "expired"
        return "soon" if self.days_left <= CERT_WARN_DAYS else "ok"


@dataclass(slots=True)
class SigningChain:
    """A PC's bridges, token (``key_state``: its USB key) and certificates."""

    plugins: list[PluginView] = field(default_factory=list)
    key_state: TokenState = ""
    certs: list[CertView] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        """Something in the chain stops signing now (a bridge not ready, an expired
        certificate, no token while the PC has signed before)."""
        return (
            any(p.state == "not_ready" for p in self.plugins)
            or any(c.expires == "expired" and c.current for c in self.certs)
            or (self.key_state == "absent" and bool(self.certs))
        )


def _days_now(days: float, measured: float, now: datetime) -> float:
    return days - (now.timestamp() - measured) / 86_400


def signing_chain(rows: Iterable[list[Any]], now: datetime) -> SigningChain | None:
    """The chain from a PC's sample rows ``[name, labels, value, measured]``; None when neither
    the signing nor the tokens check reports on this PC."""
    plugins: dict[str, dict[str, bool]] = {}
    certs: list[tuple[list[Any], float]] = []
    state: TokenState = ""
    present = False
    round_at: float | None = None
    for row in rows:
        name, labels, value = row[0], row[1] or {}, float(row[2])
        measured = float(row[3]) if len(row) > 3 else 0.0
        if name in ("signing_plugin_up", "signing_plugin_answered"):
            plugins.setdefault(str(labels.get("plugin", "")), {})[name] = value >= 1
        elif name == "token_reader_available" and value < 1:
            state = "unknown"
        elif name == "token_present":
            present = present or value >= 1
            state = state or "absent"
        elif name == "signing_cert_count":
            round_at = measured
        elif name == "signing_cert_expiry_days":
            certs.append((row, measured))
    if state == "absent":
        state = "present" if present else "absent"
    if not plugins and not state and not certs:
        return None
    chain = SigningChain(key_state=state)
    for plugin, seen in sorted(plugins.items()):
        answer: PluginState = "no_answer"
        if seen.get("signing_plugin_up"):
            answer = "ready"
        elif seen.get("signing_plugin_answered"):
            answer = "not_ready"
        chain.plugins.append(PluginView(PLUGIN_NAMES.get(plugin, plugin), answer))
    for row, measured in certs:
        labels = row[1] or {}
        chain.certs.append(
            CertView(
                str(labels.get("holder", "")),
                str(labels.get("issuer", "")),
                str(labels.get("serial", "")),
                _days_now(float(row[2]), measured, now),
                round_at is None or measured >= round_at,
            )
        )
    chain.certs.sort(key=lambda cert: cert.days_left)
    return chain


@dataclass(frozen=True, slots=True)
class OsView:
    """A PC's operating system and whether it is still supported."""

    label: str
    end_of_support: date | None
    unsupported: bool


def os_view(facts: Mapping[str, str], table: OsSupportTable, as_of: date) -> OsView | None:
    """The PC's OS from its facts (None when the agent did not say)."""
    status = os_status(facts, table)
    if status is None:
        return None
    return OsView(status.label, status.end_of_support, status.unsupported(as_of))
