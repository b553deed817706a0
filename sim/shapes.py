"""The reports the agent's checks really send, as plain dicts with the simulator's numbers.

Each builder mirrors one check of ``agent/checks`` (names, labels, which samples appear in which
state, event types and attributes), so a sample the agent never sends never reaches the
collector from the simulator either (``tests/sim/test_behaviour.py`` holds them to the
catalogues and to the recording of the real probe, ``tests/alerts/data/agent_samples.json``):

- ``http_probe``: one ``service`` device ``probe:<target>@<pc>`` per target. An answered https
  probe has the phases dns, connect, tls, ttfb, transfer and total, its status, size,
  maintenance flag, marker and certificate expiry; a cut line answers nothing, so it has only
  dns and total, no status and no connect phase, and a ``probe_failed`` event (timeout);
- ``ping``: the site agent's ping of the line is a ``link`` device ``ping:wan@<site host>``;
  a LAN device it pings (UPS, camera, kiosk ...) is reported under its own id and kind (the
  check's ``device_id`` and ``kind`` options), with the same samples: up, loss, rtt
  min/avg/max and jitter (``tests/sim/test_ping_shapes.py`` runs the real check beside it);
- ``snmp``: routers, switches and printers keep SNMP (``snmp_up``, interfaces, the Printer-MIB
  supplies with their state and reason, the 15 hrPrinterDetectedErrorState conditions).

Events are built by the agent's own functions where it has them (``agent.self_report``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agent.checks.snmp.error_state import ERROR_CONDITIONS
from agent.wire import DeviceKind

Sample = dict[str, object]
DeviceDict = dict[str, object]
EventDict = dict[str, object]

# The agent's default probe timeout (agent/checks/http_probe.py ProbeTarget.timeout_seconds).
PROBE_TIMEOUT_SECONDS = 15.0
PHASES = ("dns", "connect", "tls", "ttfb", "transfer", "total")
MAINTENANCE_MARKER = "đang bảo trì"  # the first of the agent's DEFAULT_MAINTENANCE_MARKERS


def sample(name: str, value: float, labels: dict[str, str]) -> Sample:
    """One sample dict (labels shared, never copied: the dicts are read-only once built)."""
    return {"name": name, "value": value, "labels": labels}


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """A central system a counter PC probes: the agent's target name, host and URL."""

    name: str
    host: str
    url: str
    # Size of the good page, and the server's usual time to first byte, in seconds.
    page_bytes: float
    server_seconds: float


def probe_targets(province: str) -> tuple[ProbeTarget, ...]:
    """The provincial procedure system (specialised network) and the national portal."""
    motcua = f"motcua.{province}.gov.vn"
    return (
        ProbeTarget("motcua", motcua, f"https://{motcua}/dang-nhap", 48_213.0, 0.25),
        ProbeTarget(
            "dvcqg", "dichvucong.gov.vn", "https://dichvucong.gov.vn/p/home/dvc-dang-nhap.html",
            61_877.0, 0.45,
        ),
    )  # fmt: skip


class ProbeShape:
    """The report of one PC's probe of one target, in each state (labels built once)."""

    def __init__(self, pc_id: str, target: ProbeTarget) -> None:
        self.target = target
        self.device_id = f"probe:{target.name}@{pc_id}"
        self.labels = {"target": target.name, "host": target.host}
        self.phase_labels = {phase: {**self.labels, "phase": phase} for phase in PHASES}
        self.facts = {"url": target.url, "host": target.host, "checked_from": pc_id}

    def report(
        self,
        state: str,
        phases: dict[str, float],
        size: float,
        cert_days: float,
        *,
        facts: bool,
    ) -> DeviceDict:
        """The ``service`` device for ``state`` (ok, slow, fail, maintenance, cut) with these
        phase durations (the cut state uses only dns and total)."""
        labels = self.labels
        answered = state != "cut"
        samples = [sample("probe_success", 1.0 if state in ("ok", "slow") else 0.0, labels)]
        for phase in PHASES if answered else ("dns", "total"):
            samples.append(
                sample("probe_duration_seconds", round(phases[phase], 6), self.phase_labels[phase])
            )
        events: list[EventDict] = []
        if answered:
            status = 200.0 if state in ("ok", "slow") else 503.0
            samples += [
                sample("probe_http_status", status, labels),
                sample("probe_response_size_bytes", size, labels),
                sample("probe_maintenance", 1.0 if state == "maintenance" else 0.0, labels),
                sample("probe_marker_found", 1.0 if status == 200.0 else 0.0, labels),
                sample("probe_tls_cert_expiry_days", round(cert_days, 3), labels),
            ]
            if state == "fail":
                events.append(self._failed("http_5xx", "HTTP status 503", http_status="503"))
            elif state == "maintenance":
                detail = f"the page announces maintenance ({MAINTENANCE_MARKER!r})"
                events.append(self._failed("maintenance", detail, http_status="503"))
        else:
            millis = round(PROBE_TIMEOUT_SECONDS * 1000)
            detail = f"Connection timed out after {millis + 1} milliseconds"
            events.append(self._failed("timeout", detail, curl_code="28"))
        return {
            "device_id": self.device_id,
            "kind": DeviceKind.SERVICE.value,
            "samples": samples,
            "events": events,
            "facts": self.facts if facts else {},
        }

    def _failed(self, error_class: str, detail: str, **extra: str) -> EventDict:
        # As HttpProbeCheck._event builds it.
        target = self.target
        return {
            "type": "probe_failed",
            "severity": "warning",
            "message": f"{target.name} ({target.url}): {error_class}: {detail}",
            "attrs": {
                "target": target.name,
                "url": target.url,
                "error_class": error_class,
                "detail": detail,
                **extra,
            },
        }


class PingShape:
    """The ping check's report of one target: the line (a ``link`` device) or a LAN device."""

    def __init__(
        self, device_id: str, kind: DeviceKind, target: str, address: str, checked_from: str
    ) -> None:
        self.device_id = device_id
        self.kind = kind.value
        self.target = target
        self.address = address
        self.labels = {"target": target, "address": address, "method": "icmp"}
        self.rtt_labels = {stat: {**self.labels, "stat": stat} for stat in ("min", "avg", "max")}
        self.facts = {"address": address, "checked_from": checked_from}

    def report(
        self,
        up: bool,
        rtt: float,
        *,
        facts: bool,
        loss: float = 0.0,
    ) -> DeviceDict:
        """Five echoes: answered with round trip ``rtt`` (seconds), or none answered."""
        labels = self.labels
        events: list[EventDict] = []
        if up:
            samples = [
                sample("ping_up", 1.0, labels),
                sample("ping_loss_ratio", loss, labels),
                sample("ping_rtt_seconds", round(rtt * 0.85, 6), self.rtt_labels["min"]),
                sample("ping_rtt_seconds", round(rtt, 6), self.rtt_labels["avg"]),
                sample("ping_rtt_seconds", round(rtt * 1.3, 6), self.rtt_labels["max"]),
                sample("ping_jitter_seconds", round(rtt * 0.12, 6), labels),
            ]
        else:
            samples = [sample("ping_up", 0.0, labels), sample("ping_loss_ratio", 1.0, labels)]
            events.append(
                {
                    "type": "ping_failed",
                    "severity": "warning",
                    "message": f"{self.target} ({self.address}): timeout: no reply",
                    "attrs": {
                        "target": self.target,
                        "address": self.address,
                        "method": "icmp",
                        "error_class": "timeout",
                        "detail": "no reply",
                    },
                }
            )
        return {
            "device_id": self.device_id,
            "kind": self.kind,
            "samples": samples,
            "events": events,
            "facts": self.facts if facts else {},
        }


def snmp_unreachable(address: str) -> tuple[list[Sample], EventDict]:
    """What the SNMP poller sends for a device that does not answer."""
    return [sample("snmp_up", 0.0, {})], {
        "type": "snmp_target_unreachable",
        "severity": "critical",
        "message": f"{address} did not answer SNMP",
        "attrs": {"error": "timeout", "address": address, "problem_class": "device_down"},
    }


class PrinterShape:
    """Label sets of one printer's Printer-MIB samples (one black toner, one marker)."""

    SUPPLY: ClassVar[dict[str, str]] = {
        "supply": "1",
        "description": "Black Toner Cartridge",
        "type": "toner",
        "colour": "black",
    }
    CAPACITY = 3000.0  # the cartridge's maximum in its own unit (pages, as many vendors count)

    def __init__(self) -> None:
        self.printer = {"printer": "1"}
        self.marker = {"marker": "1"}
        self.conditions = [
            (name, problem, severity.value, {"printer": "1", "condition": name})
            for name, problem, severity in ERROR_CONDITIONS
        ]
        self.states = {
            state: {**self.SUPPLY, "state": state, "reason": "measured"}
            for state in ("ok", "low", "empty")
        }

    def supply(self, percent: float, low_percent: float) -> tuple[list[Sample], list[EventDict]]:
        """The toner's samples (raw, capacity, percent, state) and its low/empty event."""
        raw = round(percent * self.CAPACITY / 100.0)
        state = "empty" if raw == 0 else ("low" if percent <= low_percent else "ok")
        samples = [
            sample("printer_supply_level_raw", float(raw), self.SUPPLY),
            sample("printer_supply_capacity_raw", self.CAPACITY, self.SUPPLY),
            sample("printer_supply_level_percent", round(percent, 2), self.SUPPLY),
            sample("printer_supply_state", 1.0, self.states[state]),
        ]
        events: list[EventDict] = []
        if state != "ok":
            events.append(
                {
                    "type": "printer_supply_low",
                    "severity": "critical" if state == "empty" else "warning",
                    "message": f"{self.SUPPLY['description']} is {state} ({percent:.0f} %)",
                    "attrs": {
                        **self.SUPPLY,
                        "state": state,
                        "reason": "measured",
                        "percent": f"{percent:.0f}",
                        "problem_class": "printer_supply_low",
                    },
                }
            )
        return samples, events

    def errors(self, active: frozenset[str]) -> tuple[list[Sample], list[EventDict]]:
        """Every error condition's sample, and an event for each one set."""
        samples: list[Sample] = []
        events: list[EventDict] = []
        for name, problem, severity, labels in self.conditions:
            is_set = name in active
            samples.append(sample("printer_error", 1.0 if is_set else 0.0, labels))
            if is_set:
                events.append(
                    {
                        "type": "printer_error",
                        "severity": severity,
                        "message": f"printer 1 reports {name.replace('_', ' ')}",
                        "attrs": {"printer": "1", "condition": name, "problem_class": problem},
                    }
                )
        return samples, events
