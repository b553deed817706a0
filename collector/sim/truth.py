"""What a scenario's faults left in the store, for comparison with its ground truth.

The alerting engine (issue 7) will turn reports into incidents; until then, and afterwards as its
test oracle, this module finds in stored reports the plain symptoms each fault type must leave and
names them in the problem-class words of DESIGN.md:

- ``device_health``: a PC's system disk at 99 % or more, or SMART reporting a failing disk;
- ``printer_fault`` / ``printer_supply_low``: jam or door-open events; a toner level of 0;
- ``device_down``: a PC agent silent for more than 1.5 report intervals, or a site device not
  answering SNMP or ping (routers excepted: an unanswered router ping is the link's symptom);
- ``site_outage`` / ``site_link_degraded``: reports of a commune that reached the collector an
  interval or more after they were measured (spooled while the link was down); short recurring
  runs are a flapping link, anything else an outage;
- ``software_outage`` / ``software_slow_site``: probes answered 503, or answered 4× slower than the
  commune's usual median; when half or more of the communes show it at once it is one provincial
  incident (commune None), otherwise the commune's own.

The thresholds suit the simulator's models (see :mod:`collector.sim.behaviour`); they are a test
oracle, not alerting rules.
"""

from __future__ import annotations

import itertools
import statistics
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from agent.wire import DeviceKind, DeviceReport, Report
from collector.schema import journal
from collector.sim.fleet import SimAgent
from collector.sim.scenario import ExpectedIncident

_PRINTERS = (DeviceKind.PRINTER, DeviceKind.MFP)
_FLAP_RUN = timedelta(minutes=15)
_FLAP_GAP = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class ObservedReport:
    """One stored report with who sent it and when the collector received it."""

    agent: SimAgent
    seq: int
    measured_at: datetime
    received_at: datetime
    devices: tuple[DeviceReport, ...]


@dataclass(frozen=True, slots=True)
class Symptom:
    """One piece of evidence of a problem at one measured instant."""

    problem_class: str
    commune_code: str | None
    device_id: str | None
    at: datetime


@dataclass
class TruthCheck:
    """Expected incidents without evidence, and evidence no expected incident explains."""

    missing: list[ExpectedIncident] = field(default_factory=list)
    unexplained: list[Symptom] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every incident observed and nothing else."""
        return not self.missing and not self.unexplained


def read_journal(engine: Engine, agents_by_id: Mapping[str, SimAgent]) -> list[ObservedReport]:
    """Every journal entry of the given agents, in (agent, sequence) order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                journal.c.agent_id, journal.c.seq, journal.c.received_at, journal.c.payload
            ).order_by(journal.c.agent_id, journal.c.seq)
        ).all()
    out: list[ObservedReport] = []
    for row in rows:
        agent = agents_by_id.get(row.agent_id)
        if agent is None:
            continue
        report = Report.model_validate_json(zlib.decompress(row.payload))
        out.append(
            ObservedReport(
                agent, row.seq, report.measured_at, row.received_at, tuple(report.devices)
            )
        )
    return out


def _sample(device: DeviceReport, name: str, **labels: str) -> float | None:
    for sample in device.samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


def _device_symptoms(report: ObservedReport) -> Iterable[Symptom]:
    commune, at = report.agent.commune_code, report.measured_at
    for device in report.devices:
        did = device.device_id
        if device.kind is DeviceKind.PC:
            disk = _sample(device, "disk_used_percent")
            smart = _sample(device, "smart_healthy")
            if (disk is not None and disk >= 99.0) or smart == 0.0:
                yield Symptom("device_health", commune, did, at)
            continue
        snmp_up, ping_up = _sample(device, "snmp_up"), _sample(device, "ping_up")
        if snmp_up == 0.0 or (ping_up == 0.0 and device.kind is not DeviceKind.ROUTER):
            yield Symptom("device_down", commune, did, at)
            continue
        if device.kind in _PRINTERS:
            conditions = {e.attrs.get("condition") for e in device.events}
            if conditions & {"jammed", "door_open"}:
                yield Symptom("printer_fault", commune, did, at)
            if _sample(device, "printer_supply_level_percent") == 0.0:
                yield Symptom("printer_supply_low", commune, did, at)


def _silences(reports: Sequence[ObservedReport], interval: timedelta) -> Iterable[Symptom]:
    by_agent: dict[str, list[ObservedReport]] = defaultdict(list)
    for report in reports:
        if report.agent.role == "pc":
            by_agent[report.agent.key].append(report)
    for runs in by_agent.values():
        runs.sort(key=lambda r: r.measured_at)
        for before, after in itertools.pairwise(runs):
            if after.measured_at - before.measured_at <= interval * 1.5:
                continue
            device = before.agent.devices[0]
            at = before.measured_at + interval
            while at < after.measured_at:
                yield Symptom("device_down", device.commune_code, device.device_id, at)
                at += interval


def _link_symptoms(reports: Sequence[ObservedReport], interval: timedelta) -> Iterable[Symptom]:
    late: dict[str, set[datetime]] = defaultdict(set)
    for report in reports:
        if report.received_at - report.measured_at >= interval * 0.9:
            late[report.agent.commune_code].add(report.measured_at)
    for commune, times in late.items():
        # Runs of consecutive late instants; a short run with another one close by is a flap.
        ordered = sorted(times)
        runs: list[list[datetime]] = [[ordered[0]]]
        for at in ordered[1:]:
            if at - runs[-1][-1] <= interval * 1.5:
                runs[-1].append(at)
            else:
                runs.append([at])
        for index, run in enumerate(runs):
            neighbours = runs[max(0, index - 1) : index] + runs[index + 1 : index + 2]
            short = run[-1] - run[0] < _FLAP_RUN
            close = any(
                min(abs(other[0] - run[-1]), abs(run[0] - other[-1])) <= _FLAP_GAP
                for other in neighbours
            )
            problem = "site_link_degraded" if short and close else "site_outage"
            yield from (Symptom(problem, commune, None, at) for at in run)


def _software_symptoms(reports: Sequence[ObservedReport]) -> Iterable[Symptom]:
    # (commune, instant) -> probe totals that got an answer, and whether any answer was a 503.
    durations: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    outage: set[tuple[str, datetime]] = set()
    for report in reports:
        if report.agent.role != "pc":
            continue
        key = (report.agent.commune_code, report.measured_at)
        for device in report.devices:
            for sample in device.samples:
                if sample.name == "probe_http_status" and sample.value == 503.0:
                    outage.add(key)
                elif sample.name == "probe_duration_seconds" and sample.labels.get("phase") == (
                    "total"
                ):
                    durations[key].append(sample.value)
            if _sample(device, "probe_http_status") == 0.0:
                durations.pop(key, None)  # A timeout is the link's symptom, not the software's.
    usual: dict[str, list[float]] = defaultdict(list)
    medians = {key: statistics.median(values) for key, values in durations.items() if values}
    for (commune, _at), value in medians.items():
        usual[commune].append(value)
    baseline = {commune: statistics.median(values) for commune, values in usual.items()}
    flagged: dict[datetime, set[str]] = defaultdict(set)
    reporting: dict[datetime, set[str]] = defaultdict(set)
    for (commune, at), value in medians.items():
        reporting[at].add(commune)
        if value > 4 * baseline[commune]:
            flagged[at].add(commune)
    for commune, at in outage:
        reporting[at].add(commune)
        flagged[at].add(commune)
    for at, communes in flagged.items():
        if len(communes) >= 2 and len(communes) * 2 >= len(reporting[at]):
            yield Symptom("software_outage", None, None, at)
        else:
            yield from (Symptom("software_slow_site", c, None, at) for c in sorted(communes))


def observed_symptoms(
    reports: Sequence[ObservedReport], interval_seconds: float = 60.0
) -> list[Symptom]:
    """Every symptom found in ``reports`` (live reports, measured every ``interval_seconds``)."""
    interval = timedelta(seconds=interval_seconds)
    found: list[Symptom] = []
    for report in reports:
        found.extend(_device_symptoms(report))
    found.extend(_silences(reports, interval))
    found.extend(_link_symptoms(reports, interval))
    found.extend(_software_symptoms(reports))
    return sorted(set(found), key=lambda s: (s.at, s.problem_class, s.commune_code or ""))


def _explains(incident: ExpectedIncident, symptom: Symptom) -> bool:
    return (
        incident.problem_class == symptom.problem_class
        and incident.commune_code == symptom.commune_code
        and incident.device_id == symptom.device_id
        and incident.start <= symptom.at < incident.end
    )


def compare(truth: Sequence[ExpectedIncident], symptoms: Sequence[Symptom]) -> TruthCheck:
    """Match symptoms to the expected incidents of a scenario."""
    check = TruthCheck()
    for incident in truth:
        if not any(_explains(incident, s) for s in symptoms):
            check.missing.append(incident)
    for symptom in symptoms:
        if not any(_explains(incident, symptom) for incident in truth):
            check.unexplained.append(symptom)
    return check
