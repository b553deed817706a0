"""What a scenario's faults left in the store, for comparison with its ground truth.

The alert engine turns reports into incidents; this module is its plain, independent test
oracle: it finds in stored reports the symptoms each fault type must leave and names them in the
problem-class words of DESIGN.md:

- ``device_health``: a PC's system disk at 99 % or more, or SMART reporting a failing disk;
- ``printer_fault`` / ``printer_supply_low``: jam or door-open events; a toner level of 0;
- ``device_down``: a counter PC silent for more than 1.5 report intervals while the working
  calendar expects it up (its goodbye excuses it until the next session's grace is over), or a
  site device not answering SNMP or ping;
- ``site_outage`` / ``site_link_degraded``: reports of a commune that reached the collector an
  interval or more after they were measured (spooled while the link was down); short recurring
  runs are a flapping link, anything else an outage; when half or more of the communes are late
  at once it is the collector's uplink: one ``upstream_outage``;
- ``software_outage`` / ``software_slow_site``: probes answered 503 (a maintenance page only in
  opening hours), or answered 4× slower than the commune's usual median; when half or more of
  the communes show it at once it is one provincial incident (commune None), otherwise the
  commune's own. A probe that reached nothing (a cut line) is the link's symptom;
- the signing chain (issue 23): ``signing_plugin_down`` when a PC's bridge answers but not
  ready; ``signing_cert_expiring`` when a tokens round reads a certificate with 30 days or fewer
  left; ``token_missing`` when a PC that had a token has had none for an hour of opening time.

The thresholds suit the simulator's models (see :mod:`sim.behaviour`); they are a test
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
from alerts.calendar import WorkingCalendar, load_calendar
from alerts.windows import WindowSpec
from collector.schema import journal
from sim.fleet import SimAgent
from sim.truth import ExpectedIncident

_PRINTERS = (DeviceKind.PRINTER, DeviceKind.MFP)
# Reports of paths, not equipment: a probe's service or the site's ping of its line.
_PATHS = (DeviceKind.SERVICE, DeviceKind.LINK)
_FLAP_RUN = timedelta(minutes=15)
_FLAP_GAP = timedelta(minutes=30)
_UPSTREAM_FLOOR = 3
# The bundled rules' signing.cert_days and token_absent_for.
_CERT_DAYS = 30.0
_TOKEN_AWAY = timedelta(hours=1)


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
        if device.kind in _PATHS:
            continue
        snmp_up, ping_up = _sample(device, "snmp_up"), _sample(device, "ping_up")
        if snmp_up == 0.0 or ping_up == 0.0:
            yield Symptom("device_down", commune, did, at)
            continue
        if device.kind in _PRINTERS:
            conditions = {e.attrs.get("condition") for e in device.events}
            if conditions & {"jammed", "door_open"}:
                yield Symptom("printer_fault", commune, did, at)
            if _sample(device, "printer_supply_level_percent") == 0.0:
                yield Symptom("printer_supply_low", commune, did, at)


def _said_goodbye(report: ObservedReport) -> bool:
    return any(e.type == "agent_stopping" for d in report.devices for e in d.events)


def _silences(
    reports: Sequence[ObservedReport], interval: timedelta, calendar: WorkingCalendar
) -> Iterable[Symptom]:
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
            commune = device.commune_code
            # A goodbye explains the silence until the next session's grace is over.
            excused_until = before.measured_at
            if _said_goodbye(before):
                excused_until = next(
                    (
                        opened + calendar.grace
                        for opened, _closed in calendar.sessions(
                            commune, before.measured_at, after.measured_at, clip=False
                        )
                        if opened > before.measured_at
                    ),
                    after.measured_at,
                )
            at = before.measured_at + interval
            while at < after.measured_at:
                if at >= excused_until and calendar.expected_up(commune, at):
                    yield Symptom("device_down", commune, device.device_id, at)
                at += interval


def _link_symptoms(reports: Sequence[ObservedReport], interval: timedelta) -> Iterable[Symptom]:
    late: dict[str, set[datetime]] = defaultdict(set)
    reporting: dict[datetime, set[str]] = defaultdict(set)
    for report in reports:
        reporting[report.measured_at].add(report.agent.commune_code)
        if report.received_at - report.measured_at >= interval * 0.9:
            late[report.agent.commune_code].add(report.measured_at)
    # Three communes or more, and half or more of those reporting, late at once: the
    # collector's uplink, not their links.
    upstream = set()
    for at, communes in reporting.items():
        late_now = sum(at in late[commune] for commune in communes)
        if late_now >= _UPSTREAM_FLOOR and 2 * late_now >= len(communes):
            upstream.add(at)
    yield from (Symptom("upstream_outage", None, None, at) for at in upstream)
    for commune, all_times in late.items():
        times = all_times - upstream
        if not times:
            continue
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


def _software_symptoms(
    reports: Sequence[ObservedReport], calendar: WorkingCalendar
) -> Iterable[Symptom]:
    # (commune, instant, target) -> probe totals that got an answer; those answered 503.
    durations: dict[tuple[str, datetime, str], list[float]] = defaultdict(list)
    outage: set[tuple[str, datetime, str]] = set()
    for report in reports:
        if report.agent.role != "pc":
            continue
        commune = report.agent.commune_code
        for device in report.devices:
            if device.kind is not DeviceKind.SERVICE or not device.samples:
                continue
            key = (commune, report.measured_at, device.samples[0].labels.get("target", ""))
            status = _sample(device, "probe_http_status")
            if status is None:
                continue  # Nothing answered: the link's symptom, not the software's.
            if status == 503.0:
                # A maintenance page troubles nobody while the centre is closed.
                if _sample(device, "probe_maintenance") != 1.0 or calendar.is_open(
                    commune, report.measured_at
                ):
                    outage.add(key)
                continue
            total = _sample(device, "probe_duration_seconds", phase="total")
            if total is not None:
                durations[key].append(total)
    medians = {key: statistics.median(values) for key, values in durations.items() if values}
    usual: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (commune, _at, target), value in medians.items():
        usual[(commune, target)].append(value)
    baseline = {key: statistics.median(values) for key, values in usual.items()}
    # Per instant and central system: the communes reporting it, and those it troubles.
    flagged: dict[tuple[datetime, str], set[str]] = defaultdict(set)
    reporting: dict[tuple[datetime, str], set[str]] = defaultdict(set)
    for (commune, at, target), value in medians.items():
        reporting[(at, target)].add(commune)
        if value > 4 * baseline[(commune, target)]:
            flagged[(at, target)].add(commune)
    for commune, at, target in outage:
        reporting[(at, target)].add(commune)
        flagged[(at, target)].add(commune)
    for (at, target), communes in flagged.items():
        if len(communes) >= 2 and len(communes) * 2 >= len(reporting[(at, target)]):
            yield Symptom("software_outage", None, None, at)
        else:
            yield from (Symptom("software_slow_site", c, None, at) for c in sorted(communes))


def _signing_symptoms(
    reports: Sequence[ObservedReport], calendar: WorkingCalendar
) -> Iterable[Symptom]:
    # Per PC: when a token was last seen, and since when none has been.
    tokens: dict[str, tuple[datetime | None, datetime | None]] = {}
    for report in sorted(reports, key=lambda r: (r.agent.key, r.measured_at)):
        commune, at = report.agent.commune_code, report.measured_at
        for device in report.devices:
            if device.kind is not DeviceKind.PC:
                continue
            did = device.device_id
            answered = {
                s.labels.get("plugin") for s in device.samples
                if s.name == "signing_plugin_answered" and s.value == 1.0
            }  # fmt: skip
            ready = {
                s.labels.get("plugin") for s in device.samples
                if s.name == "signing_plugin_up" and s.value == 1.0
            }  # fmt: skip
            if answered - ready:
                yield Symptom("signing_plugin_down", commune, did, at)
            if _sample(device, "signing_cert_count") is None:
                continue  # no tokens round in this report
            days = [s.value for s in device.samples if s.name == "signing_cert_expiry_days"]
            if any(value <= _CERT_DAYS for value in days):
                yield Symptom("signing_cert_expiring", commune, did, at)
            seen, since = tokens.get(did, (None, None))
            if any(s.name == "token_present" and s.value == 1.0 for s in device.samples):
                seen, since = at, None
            elif seen is not None:
                since = since or at
                if (
                    calendar.is_open(commune, at)
                    and calendar.working_time(commune, since, at) >= _TOKEN_AWAY
                ):
                    yield Symptom("token_missing", commune, did, at)
            tokens[did] = (seen, since)


def observed_symptoms(
    reports: Sequence[ObservedReport],
    interval_seconds: float = 60.0,
    calendar: WorkingCalendar | None = None,
) -> list[Symptom]:
    """Every symptom found in ``reports`` (live reports, measured every ``interval_seconds``),
    silence judged against ``calendar`` (default: the bundled one)."""
    calendar = calendar if calendar is not None else load_calendar()
    interval = timedelta(seconds=interval_seconds)
    found: list[Symptom] = []
    for report in reports:
        found.extend(_device_symptoms(report))
    found.extend(_silences(reports, interval, calendar))
    found.extend(_link_symptoms(reports, interval))
    found.extend(_software_symptoms(reports, calendar))
    found.extend(_signing_symptoms(reports, calendar))
    return sorted(set(found), key=lambda s: (s.at, s.problem_class, s.commune_code or ""))


def _explains(incident: ExpectedIncident, symptom: Symptom) -> bool:
    return (
        incident.problem_class == symptom.problem_class
        and incident.commune_code == symptom.commune_code
        and incident.device_id == symptom.device_id
        and incident.start <= symptom.at < incident.end
    )


def compare(
    truth: Sequence[ExpectedIncident],
    symptoms: Sequence[Symptom],
    windows: Sequence[WindowSpec] = (),
) -> TruthCheck:
    """Match symptoms to the expected incidents of a scenario; trouble of a central system
    inside a declared maintenance window needs no incident."""
    check = TruthCheck()
    for incident in truth:
        if not any(_explains(incident, s) for s in symptoms):
            check.missing.append(incident)
    for symptom in symptoms:
        if any(_explains(incident, symptom) for incident in truth):
            continue
        if symptom.problem_class == "software_outage" and any(
            w.starts_at <= symptom.at < w.ends_at for w in windows
        ):
            continue
        check.unexplained.append(symptom)
    return check
