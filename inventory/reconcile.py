"""Reconciliation of the register with what the agents and the SNMP poller discovered.

Each device in ``device_state`` carries identifying facts (``serial``, ``model``, ``hostname`` for
a PC; ``serial``, ``model``, ``sys_name`` for an SNMP device). A register line and a device are
*matched* by serial first, then by name: a PC or device named after its asset tag (a common
convention: the hostname is the inventory number). Each line and each device is matched at most
once. The result has four parts:

* matched: a register line and the device seen, with the date last seen;
* mismatched: matched pairs whose attributes disagree (model, serial, commune, kind, or a device
  still reporting although the register says retired/transferred);
* missing: lines in use, of a kind the system discovers, in a commune that reports at all, but
  never seen (lost, moved, switched off, or never installed);
* unrecorded: equipment seen that no register line accounts for (an asset to add).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select

from collector.schema import device_state
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.store import list_assets
from inventory.tables import Lang

# Kinds the agents (host check) and the SNMP poller report in this release; a register line of
# another kind (a scanner on USB, a camera) is never expected to be seen, so never "missing".
DISCOVERED_KINDS: frozenset[AssetKind] = frozenset(
    {
        AssetKind.PC,
        AssetKind.KIOSK,
        AssetKind.PRINTER,
        AssetKind.MFP,
        AssetKind.ROUTER,
        AssetKind.SWITCH,
        AssetKind.FIREWALL,
        AssetKind.ACCESS_POINT,
        AssetKind.UPS,
    }
)

# Device kinds that are not equipment (a probed web service, a WAN link): never reconciled.
_NOT_EQUIPMENT = frozenset({"service", "link"})

# Kinds one side may legitimately see as the other: an SNMP printer that also scans is often
# registered as a plain printer, and a look-up kiosk runs the same host agent as a PC.
_COMPATIBLE_KINDS: tuple[frozenset[str], ...] = (
    frozenset({"printer", "mfp"}),
    frozenset({"pc", "kiosk"}),
)

# Values firmware puts in the serial field when the vendor left it empty (SMBIOS defaults of
# white-box boards, unset EEPROMs): matching on them would pair unrelated devices.
_PLACEHOLDER_SERIALS = frozenset(
    {
        "TOBEFILLEDBYOEM",
        "DEFAULTSTRING",
        "SYSTEMSERIALNUMBER",
        "NONE",
        "NA",
        "UNKNOWN",
        "0",
        "00000000",
        "0123456789",
        "123456789",
        "CHASSISSERIALNUMBER",
        "NOTAPPLICABLE",
        "NOTSPECIFIED",
    }
)


def normalize_serial(value: str | None) -> str | None:
    """Upper case, spaces and dashes dropped; None for empty or placeholder serials."""
    if not value:
        return None
    key = re.sub(r"[\s\-_.]", "", value).upper()
    if len(key) < 3 or key.replace("0", "") == "" or key in _PLACEHOLDER_SERIALS:
        return None
    return key


def _name_key(value: str | None) -> str | None:
    return value.strip().casefold() if value and value.strip() else None


def _model_key(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.casefold())


@dataclass(frozen=True)
class SeenDevice:
    """A device the system discovered, with its latest identifying facts."""

    commune_code: str
    device_id: str
    kind: str
    measured_at: datetime
    facts: Mapping[str, str] = field(default_factory=dict)

    @property
    def serial(self) -> str | None:
        """The serial the device reports, if any."""
        return self.facts.get("serial") or None

    @property
    def model(self) -> str:
        """The model the device reports ('' when unknown)."""
        return self.facts.get("model", "")

    @property
    def names(self) -> tuple[str, ...]:
        """Names it answers to: hostname, SNMP sysName, device id."""
        return tuple(
            name
            for name in (self.facts.get("hostname"), self.facts.get("sys_name"), self.device_id)
            if name
        )


@dataclass(frozen=True)
class Mismatch:
    """One attribute on which the register and the device disagree."""

    field: str
    register_value: str
    seen_value: str

    def describe(self, lang: Lang = "vi") -> str:
        """``model: sổ 'OptiPlex 3080', thực tế 'OptiPlex 7010'``."""
        if lang == "vi":
            return f"{self.field}: sổ {self.register_value!r}, thực tế {self.seen_value!r}"
        return f"{self.field}: register {self.register_value!r}, seen {self.seen_value!r}"


@dataclass(frozen=True)
class Match:
    """A register line and the device it was recognised as."""

    asset: Asset
    device: SeenDevice
    matched_by: str
    mismatches: tuple[Mismatch, ...] = ()


@dataclass(frozen=True)
class Reconciliation:
    """Matched, mismatched, missing and unrecorded equipment."""

    matched: tuple[Match, ...]
    missing: tuple[Asset, ...]
    unrecorded: tuple[SeenDevice, ...]

    @property
    def mismatched(self) -> tuple[Match, ...]:
        """Matched pairs with at least one disagreeing attribute."""
        return tuple(match for match in self.matched if match.mismatches)


def _kinds_compatible(register: str, seen: str) -> bool:
    return register == seen or any({register, seen} <= group for group in _COMPATIBLE_KINDS)


def _mismatches(asset: Asset, device: SeenDevice, matched_by: str) -> tuple[Mismatch, ...]:
    found: list[Mismatch] = []
    register_serial = normalize_serial(asset.serial)
    seen_serial = normalize_serial(device.serial)
    serials_differ = bool(register_serial and seen_serial and register_serial != seen_serial)
    if matched_by != "serial" and serials_differ:
        found.append(Mismatch("serial", asset.serial or "", device.serial or ""))
    if asset.model and device.model:
        ours, theirs = _model_key(asset.model), _model_key(device.model)
        # Firmware often prefixes the brand ("HP LaserJet M404dn" vs "LaserJet M404dn").
        if ours and theirs and ours not in theirs and theirs not in ours:
            found.append(Mismatch("model", asset.model, device.model))
    if asset.commune_code != device.commune_code:
        found.append(Mismatch("commune_code", asset.commune_code, device.commune_code))
    if not _kinds_compatible(asset.kind.value, device.kind):
        found.append(Mismatch("kind", asset.kind.value, device.kind))
    if not asset.in_service:
        found.append(Mismatch("status", asset.status.value, "reporting"))
    return tuple(found)


def reconcile(assets: Iterable[Asset], devices: Iterable[SeenDevice]) -> Reconciliation:
    """Match register lines to discovered devices (pure: no store access)."""
    lines = list(assets)
    seen = [device for device in devices if device.kind not in _NOT_EQUIPMENT]
    taken_assets: set[str] = set()
    taken_devices: set[tuple[str, str]] = set()
    matches: list[Match] = []

    def free(device: SeenDevice | None) -> bool:
        return device is not None and (device.commune_code, device.device_id) not in taken_devices

    def pair(asset: Asset, device: SeenDevice, how: str) -> None:
        taken_assets.add(asset.asset_tag)
        taken_devices.add((device.commune_code, device.device_id))
        matches.append(Match(asset, device, how, _mismatches(asset, device, how)))

    by_serial: dict[str, SeenDevice] = {}
    for device in seen:
        key = normalize_serial(device.serial)
        if key is not None:
            # Two devices reporting one serial: keep the most recently seen.
            current = by_serial.get(key)
            if current is None or device.measured_at > current.measured_at:
                by_serial[key] = device
    for asset in lines:
        key = normalize_serial(asset.serial)
        candidate = by_serial.get(key) if key else None
        if candidate is not None and free(candidate):
            pair(asset, candidate, "serial")

    by_name: dict[str, SeenDevice] = {}
    for device in seen:
        if (device.commune_code, device.device_id) in taken_devices:
            continue
        for name in device.names:
            name_key = _name_key(name)
            if name_key is not None:
                by_name.setdefault(name_key, device)
    for asset in lines:
        if asset.asset_tag in taken_assets:
            continue
        named = by_name.get(_name_key(asset.asset_tag) or "")
        if named is not None and free(named):
            pair(asset, named, "name")

    reporting = {device.commune_code for device in seen}
    missing = tuple(
        asset
        for asset in lines
        if asset.asset_tag not in taken_assets
        and asset.status is AssetStatus.IN_USE
        and asset.kind in DISCOVERED_KINDS
        and asset.commune_code in reporting
    )
    unrecorded = tuple(
        device for device in seen if (device.commune_code, device.device_id) not in taken_devices
    )
    matches.sort(key=lambda match: match.asset.asset_tag)
    return Reconciliation(tuple(matches), missing, unrecorded)


def seen_devices(engine: Engine, commune_code: str | None = None) -> list[SeenDevice]:
    """Every device of ``device_state`` (of one commune) with its facts."""
    query = select(
        device_state.c.commune_code,
        device_state.c.device_id,
        device_state.c.kind,
        device_state.c.measured_at,
        device_state.c.facts,
    ).order_by(device_state.c.commune_code, device_state.c.device_id)
    if commune_code is not None:
        query = query.where(device_state.c.commune_code == commune_code)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: list[SeenDevice] = []
    for row in rows:
        try:
            facts = json.loads(row.facts or "{}")
        except ValueError:
            facts = {}
        if not isinstance(facts, dict):
            facts = {}
        out.append(
            SeenDevice(
                row.commune_code,
                row.device_id,
                row.kind,
                row.measured_at,
                {str(k): str(v) for k, v in facts.items()},
            )
        )
    return out


def reconcile_store(engine: Engine, commune_code: str | None = None) -> Reconciliation:
    """Reconcile the stored register with the stored device state (of one commune)."""
    return reconcile(
        list_assets(engine, commune_code=commune_code), seen_devices(engine, commune_code)
    )


def summary_counts(result: Reconciliation) -> Sequence[tuple[str, str, int]]:
    """(Vietnamese, English, count) of each part, for CLI and API summaries."""
    return (
        ("Đã khớp", "Matched", len(result.matched)),
        ("Sai khác", "Mismatched", len(result.mismatched)),
        ("Không thấy trên mạng", "Missing", len(result.missing)),
        ("Chưa có trong sổ", "Unrecorded", len(result.unrecorded)),
    )
