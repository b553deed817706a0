"""One pass over a batch of processed reports: what each detector of the alert engine reads.

The processor hands the engine thousands of reports a second during a back-fill, so the samples
are walked once here and sorted into the few things detectors look at: samples some threshold
rule watches, the commune's link evidence, probes of the central systems and the site's ping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.rules import Rules, ThresholdRule
from alerts.systems import System, SystemMap
from collector.processor import StoredReport


@dataclass(frozen=True, slots=True)
class RuleSample:
    """A sample some threshold rule watches, on one device, at one measured time."""

    rule: ThresholdRule
    commune_code: str
    device_id: str
    kind: str
    at: datetime
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class LinkPoint:
    """Evidence about a commune's link at one time: down (True) or up, and why."""

    at: datetime
    down: bool
    evidence: str


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One PC's probe of one central system's target in one report."""

    commune_code: str
    device_id: str
    at: datetime
    target: str
    system: System
    # probe_success, probe_http_status, duration (total), connect, tls, ttfb ... as sent.
    values: dict[str, float]


@dataclass(frozen=True, slots=True)
class PingSample:
    """The site agent's ping of its router (round trip or loss)."""

    commune_code: str
    at: datetime
    name: str
    value: float


@dataclass(slots=True)
class SupplyReading:
    """One printer supply in one report: its measured level (if any) and its state."""

    labels: dict[str, str]
    level: float | None = None
    state: str = ""
    reason: str = ""


@dataclass(slots=True)
class PrinterReading:
    """One printer's supplies and its own supply alarms (error-state bits) in one report."""

    commune_code: str
    device_id: str
    kind: str
    at: datetime
    supplies: dict[str, SupplyReading] = field(default_factory=dict)
    # The printer's own low/no-toner and missing-supply bits (hrPrinterDetectedErrorState).
    alarms: set[str] = field(default_factory=set)


# Printer error conditions that are the printer's own word about its supplies.
SUPPLY_ALARMS = frozenset({"low_toner", "no_toner", "marker_supply_missing"})
_PRINTER_KINDS = frozenset({"printer", "mfp"})


@dataclass(frozen=True, slots=True)
class PluginReading:
    """One signing bridge on one PC in one report (agent/checks/signing): ready or not, and the
    bridge's own words when not (its answer, or why no port answered)."""

    commune_code: str
    device_id: str
    at: datetime
    plugin: str
    up: bool
    answered: bool
    port: str = ""
    words: str = ""


@dataclass(frozen=True, slots=True)
class HeldCertificate:
    """A signing certificate on a USB token, as the tokens check read it (no PIN)."""

    holder: str
    issuer: str
    serial: str
    days_left: float


@dataclass(slots=True)
class TokenReading:
    """One PC's USB tokens in one report (agent/checks/tokens)."""

    commune_code: str
    device_id: str
    at: datetime
    # False: python-pkcs11 is missing, nothing is known about tokens here.
    available: bool = True
    modules_found: int | None = None
    modules_up: int = 0
    present: bool = False
    # ``signing_cert_count`` came with the report: ``certificates`` are this round's, complete.
    counted: bool = False
    certificates: list[HeldCertificate] = field(default_factory=list)
    # The modules' own error messages (token_module_error).
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TlsCertReading:
    """The TLS certificate of a central system's probe target, as one PC saw it."""

    commune_code: str
    device_id: str
    at: datetime
    system: System
    target: str
    host: str
    days_left: float


# Sample names of the signing and tokens checks (agent/checks/metrics.yaml).
_SIGNING_PREFIXES = ("signing_", "token_")


@dataclass(slots=True)
class _SigningParts:
    """The signing and token samples of one PC in one report, gathered before typing."""

    commune_code: str
    device_id: str
    at: datetime
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    token: TokenReading | None = None

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        """File one ``signing_*`` or ``token_*`` sample."""
        if name.startswith("signing_plugin_"):
            slot = self.plugins.setdefault(labels.get("plugin", ""), {})
            if name != "signing_plugin_latency_seconds":
                slot[name] = value >= 1
                slot["port"] = labels.get("port", "")
            return
        token = self.token
        if token is None:
            token = self.token = TokenReading(self.commune_code, self.device_id, self.at)
        if name == "token_reader_available":
            token.available = value >= 1
        elif name == "token_modules_found":
            token.modules_found = int(value)
        elif name == "token_module_up":
            token.modules_up += int(value >= 1)
        elif name == "token_present":
            token.present = token.present or value >= 1
        elif name == "signing_cert_count":
            token.counted = True
        elif name == "signing_cert_expiry_days":
            token.certificates.append(
                HeldCertificate(
                    labels.get("holder", ""),
                    labels.get("issuer", ""),
                    labels.get("serial", ""),
                    value,
                )
            )

    def emit(self, seen: Observations, events: list[dict[str, Any]]) -> None:
        """The typed readings, with the bridges' and modules' own words from the events."""
        words: dict[str, str] = {}
        for event in events:
            attrs = event.get("attrs") or {}
            kind, plugin = event.get("type"), str(attrs.get("plugin", ""))
            if kind == "signing_plugin_error":
                words[plugin] = f"answered: {attrs.get('answer', '')}"
            elif kind == "signing_plugin_down":
                words[plugin] = f"no port answered ({attrs.get('errors', '')})"
            elif kind == "token_module_error" and self.token is not None:
                self.token.errors.append(f"{attrs.get('ca', '')}: {attrs.get('error', '')}")
        for plugin, slot in sorted(self.plugins.items()):
            seen.plugins.append(
                PluginReading(
                    self.commune_code,
                    self.device_id,
                    self.at,
                    plugin,
                    up=bool(slot.get("signing_plugin_up")),
                    answered=bool(slot.get("signing_plugin_answered")),
                    port=str(slot.get("port", "")),
                    words=words.get(plugin, ""),
                )
            )
        if self.token is not None:
            seen.tokens.append(self.token)


@dataclass(slots=True)
class Observations:
    """A batch's reports, sorted for the detectors."""

    rule_samples: list[RuleSample] = field(default_factory=list)
    link: dict[str, list[LinkPoint]] = field(default_factory=dict)
    probes: list[ProbeResult] = field(default_factory=list)
    pings: list[PingSample] = field(default_factory=list)
    printers: list[PrinterReading] = field(default_factory=list)
    # The signing chain (issue 23): bridges, tokens and certificates, central TLS certificates.
    plugins: list[PluginReading] = field(default_factory=list)
    tokens: list[TokenReading] = field(default_factory=list)
    tls_certs: list[TlsCertReading] = field(default_factory=list)
    # Agent id -> the earliest measured time among its reports in the batch.
    first_report: dict[str, datetime] = field(default_factory=dict)
    reports: int = 0


class ObservationReader:
    """Sorts reports into :class:`Observations` by the rules and central systems in force."""

    def __init__(self, rules: Rules, systems: SystemMap) -> None:
        self._by_metric = rules.by_metric()
        self._wan_interface = rules.site.wan_interface
        self._line_targets = frozenset(rules.site.line_ping_targets)
        self.systems = systems

    def read(self, reports: Sequence[StoredReport]) -> Observations:
        """The observations of a batch."""
        seen = Observations(reports=len(reports))
        for item in reports:
            at = item.measured_at
            first = seen.first_report.get(item.agent_id)
            if first is None or at < first:
                seen.first_report[item.agent_id] = at
            for device in item.data["devices"]:
                self._device(seen, item.commune_code, device, at)
        return seen

    def _device(
        self, seen: Observations, commune: str, device: dict[str, Any], at: datetime
    ) -> None:
        kind = device["kind"]
        device_id = device["device_id"]
        probes: dict[str, dict[str, float]] = {}
        probe_systems: dict[str, System] = {}
        printer = PrinterReading(commune, device_id, kind, at) if kind in _PRINTER_KINDS else None
        signing = _SigningParts(commune, device_id, at) if kind == "pc" else None
        for sample in device["samples"]:
            name = sample["name"]
            labels = sample.get("labels") or {}
            value = float(sample["value"])
            rules = self._by_metric.get(name)
            if rules is not None:
                for rule in rules:
                    if rule.applies_to(kind) and rule.label_match(labels):
                        seen.rule_samples.append(
                            RuleSample(rule, commune, device_id, kind, at, name, labels, value)
                        )
            if name == "if_oper_up" and kind == "router":
                if labels.get("interface") == self._wan_interface:
                    seen.link.setdefault(commune, []).append(
                        LinkPoint(
                            at,
                            value < 1,
                            f"{device_id} {self._wan_interface} if_oper_up={value:g}",
                        )
                    )
            elif name.startswith("probe_") and (
                system := self.systems.system_for(labels.get("target"), labels.get("host"))
            ):
                target = labels.get("target") or labels["host"]
                probe_systems[target] = system
                slot = probes.setdefault(target, {})
                if name == "probe_duration_seconds":
                    phase = labels.get("phase", "total")
                    slot["duration" if phase == "total" else phase] = value
                else:
                    slot[name] = value
                if name == "probe_tls_cert_expiry_days":
                    seen.tls_certs.append(
                        TlsCertReading(
                            commune, device_id, at, system, target, labels.get("host", ""), value
                        )
                    )
            elif (
                name in ("ping_rtt_seconds", "ping_loss_ratio")
                and kind in ("link", "router")
                and (name == "ping_loss_ratio" or labels.get("stat", "avg") == "avg")
                and (kind == "router" or labels.get("target") in self._line_targets)
            ):
                # The site agent's ping of the line (a ``link`` device of the ping check; older
                # simulated reports carried it on the router).
                seen.pings.append(PingSample(commune, at, name, value))
            elif printer is not None and name.startswith("printer_"):
                _printer_sample(printer, name, labels, value)
            elif signing is not None and name.startswith(_SIGNING_PREFIXES):
                signing.sample(name, labels, value)
        if printer is not None and (printer.supplies or printer.alarms):
            seen.printers.append(printer)
        if signing is not None and (signing.plugins or signing.token is not None):
            signing.emit(seen, device.get("events") or [])
        if probes:
            _probe_results(seen, commune, device_id, at, probes, probe_systems)


def _probe_results(
    seen: Observations,
    commune: str,
    device_id: str,
    at: datetime,
    probes: dict[str, dict[str, float]],
    probe_systems: dict[str, System],
) -> None:
    """One PC's probes of the central systems, and what they say about its commune's link."""
    unreachable = 0
    for target, values in probes.items():
        seen.probes.append(
            ProbeResult(commune, device_id, at, target, probe_systems[target], values)
        )
        unreachable += int(unreachable_probe(values))
    # A PC that reaches no central system at all says its commune's link is down; one that
    # connects to every system says it is up.
    if unreachable == len(probes):
        seen.link.setdefault(commune, []).append(
            LinkPoint(at, True, f"{device_id}: no central system reachable")
        )
    elif unreachable == 0:
        seen.link.setdefault(commune, []).append(
            LinkPoint(at, False, f"{device_id}: probes connect")
        )


def _printer_sample(
    printer: PrinterReading, name: str, labels: dict[str, str], value: float
) -> None:
    if name == "printer_error":
        if value >= 1 and labels.get("condition") in SUPPLY_ALARMS:
            printer.alarms.add(labels["condition"])
        return
    if name not in ("printer_supply_level_percent", "printer_supply_state"):
        return
    supply = labels.get("supply", "")
    reading = printer.supplies.get(supply)
    if reading is None:
        identity = {k: v for k, v in labels.items() if k not in ("state", "reason")}
        reading = printer.supplies[supply] = SupplyReading(identity)
    if name == "printer_supply_level_percent":
        reading.level = value
    elif value >= 1:
        reading.state = labels.get("state", "")
        reading.reason = labels.get("reason", "")


def unreachable_probe(values: dict[str, float]) -> bool:
    """Whether a probe could not connect at all: the path failed, not the server.

    The agent sends no ``probe_http_status`` when nothing answered, and no ``connect`` phase
    when no TCP connection was made (agent/checks/http_probe.py): a server that accepted the
    connection and then failed (TLS, a hang) is the server's fault, not the line's.
    """
    if values.get("probe_success", 1.0) >= 1:
        return False
    return values.get("probe_http_status", 0.0) == 0 and "connect" not in values
