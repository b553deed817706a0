"""What the agent really sends about a counter PC's signing chain, made by the agent's own code.

- tokens: the real ``tokens`` check (``TokensCheck.collect``, on the test's clock) with a reader
  process that prints a fixed answer, as the check's own tests start it without python-pkcs11:
  everything after the reader (samples, events, facts, days left) is the agent's;
- signing bridges: the ``signing`` check's own functions (``outcome_samples``,
  ``outcome_event``) on port answers of the shapes its probe returns (ready, answered wrong,
  no port answered);
- OS facts: the host check's ``windows_facts``.

``tests/alerts/test_signing_samples.py`` checks every name against the agent's catalogue.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from agent.checks.host.osinfo import WindowsRelease, windows_facts
from agent.checks.signing.check import outcome_event, outcome_samples
from agent.checks.signing.config import DEFAULT_PLUGINS, SigningPlugin
from agent.checks.signing.probe import PluginOutcome, PortAnswer
from agent.checks.tokens.check import TokensCheck, TokensConfig
from agent.checks.tokens.reader import CertificateInfo, ModuleResult, ReaderAnswer, TokenInfo
from agent.wire import DeviceReport
from tests.fakes import FakeClock

VNPT_CA_MODULE = r"C:\Windows\System32\vnpt-ca_csp11.dll"


@dataclass(frozen=True)
class Cert:
    """A certificate on a token: its holder, CA, serial and days to expiry from the clock."""

    holder: str
    serial: str
    days: float
    issuer: str = "VNPT Certification Authority"


def _device(report: DeviceReport) -> dict[str, Any]:
    return report.model_dump(mode="json")


def tokens_report(
    device_id: str, clock: FakeClock, certs: Sequence[Cert] = (), *, present: bool = True
) -> dict[str, Any]:
    """The ``pc`` device the tokens check reports: one VNPT-CA module, a token holding ``certs``
    when ``present`` (else none plugged in)."""
    now = clock.now()
    module = ModuleResult(ca="VNPT-CA", path=VNPT_CA_MODULE, loaded=True)
    if present:
        module.tokens.append(TokenInfo(label="VNPT-CA", serial="54010A1B", manufacturer="VNPT"))
        module.certificates += [
            CertificateInfo(
                holder=cert.holder,
                issuer=cert.issuer,
                serial=cert.serial,
                not_after=(now + timedelta(days=cert.days)).isoformat(),
                token_serial="54010A1B",
            )
            for cert in certs
        ]
    answer = ReaderAnswer(modules=[module]).model_dump_json()
    code = f"import sys; sys.stdin.read(); sys.stdout.write({answer!r})"
    check = TokensCheck(
        TokensConfig(device_id=device_id, known_modules=False),
        clock=clock,
        reader_command=(sys.executable, "-c", code),
    )
    # In a thread of its own: the console's tests call this from inside their event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        (report,) = pool.submit(asyncio.run, check.collect()).result()
    return _device(report)


def _answers(plugin: SigningPlugin, state: str, answer: str) -> tuple[PortAnswer, ...]:
    first = plugin.ports[0]
    if state == "ok":
        return (PortAnswer(first, True, True, 0.04, version="1.0.4.3"),)
    if state == "error":
        # A bridge that answers but is not ready (a licence error after a browser update).
        return (PortAnswer(first, True, False, 0.05, answer=answer),)
    return tuple(PortAnswer(port, False, error="connect_refused") for port in plugin.ports)


def signing_report(
    device_id: str, *, vnpt_ca: str = "ok", vgca: str = "down", answer: str = "-1"
) -> dict[str, Any]:
    """The ``pc`` device the signing check reports: each bridge ``ok``, ``error`` (answered
    ``answer``) or ``down`` (no port answered)."""
    states = {"vnpt_ca": vnpt_ca, "vgca": vgca}
    samples: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for plugin in DEFAULT_PLUGINS:
        outcome = PluginOutcome(plugin, _answers(plugin, states[plugin.name], answer))
        samples += [s.model_dump(mode="json") for s in outcome_samples(outcome)]
        event = outcome_event(outcome)
        if event is not None:
            events.append(event.model_dump(mode="json"))
    return {"device_id": device_id, "kind": "pc", "samples": samples, "events": events}


def windows(name: str) -> dict[str, str]:
    """The OS facts of a Windows PC as the host check reports them: ``win7``, ``win81``,
    ``win10`` (22H2), ``win11_22h2``, ``win11_24h2``."""
    releases = {
        "win7": WindowsRelease(6, 1, 7601, release="7", edition="Professional"),
        "win81": WindowsRelease(6, 3, 9600, release="8.1", edition="Professional"),
        "win10": WindowsRelease(10, 0, 19045, release="10", edition="Professional"),
        "win11_22h2": WindowsRelease(10, 0, 22621, release="10", edition="Professional"),
        "win11_24h2": WindowsRelease(10, 0, 26100, release="10", edition="Professional"),
    }
    return windows_facts(releases[name])


def merged(device: dict[str, Any], *parts: dict[str, Any]) -> dict[str, Any]:
    """``device`` (a PC of tests.alerts.support.pc) with the samples, events and facts of other
    checks' reports of the same PC, as the collector's device state merges them."""
    out = dict(device)
    for part in parts:
        assert part["device_id"] == device["device_id"]
        assert part["kind"] == device["kind"]
        out["samples"] = [*out.get("samples", []), *part.get("samples", [])]
        out["events"] = [*out.get("events", []), *part.get("events", [])]
        out["facts"] = {**out.get("facts", {}), **part.get("facts", {})}
    return out
