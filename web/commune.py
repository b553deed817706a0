"""One commune's page: its devices and their health, link, probes, printer supplies, timeline,
and per counter PC its signing chain and operating system (issue 23, ``web.signing``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from agent.vntime import local_date
from alerts.calendar import WorkingCalendar
from alerts.expectation import PC_KINDS, AgentState, Expectation, Verdict, load_states
from alerts.schema import incidents
from collector.schema import agents, communes, device_state, events, journal
from inventory.os_support import OsSupportTable
from web.signing import OsView, SigningChain, os_view, signing_chain

# Above these a PC needs attention (the alert rules decide tickets; this only colours the page).
_WARN = {"cpu_percent": 90.0, "memory_used_percent": 90.0, "disk_used_percent": 90.0}


@dataclass(slots=True)
class Device:
    """A device with the few numbers a person reads first."""

    device_id: str
    kind: str
    agent_id: str
    measured_at: datetime
    health: str = "ok"  # ok, warn, stale (silent while expected), off (rightly silent)
    # When switched off, and why: the goodbye's time and reason, or "outside_hours".
    off_since: datetime | None = None
    off_reason: str = ""
    cpu: float | None = None
    memory: float | None = None
    disk: float | None = None
    supplies: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # A PC's signing bridges, token and certificates, and its operating system (issue 23).
    signing: SigningChain | None = None
    os: OsView | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """One central system as this commune's PCs reach it: success ratio and phase medians."""

    target: str
    reachable: int
    probed: int
    phases: dict[str, float]


@dataclass(frozen=True, slots=True)
class CommuneDetail:
    """Everything the commune page shows."""

    code: str
    name: str
    type: str
    devices: list[Device]
    probes: list[Probe]
    link: dict[str, float]
    timeline: list[dict[str, Any]]
    # Per hour of the last 24 h, oldest first: reports received / reports expected (None: no
    # agent enrolled yet). Drawn from the journal, which keeps a week of reports.
    reporting: list[tuple[datetime, float | None]] = field(default_factory=list)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def reporting_by_hour(
    engine: Engine,
    code: str,
    now: datetime,
    heartbeat: timedelta,
    calendar: WorkingCalendar,
    hours: int = 24,
) -> list[tuple[datetime, float | None]]:
    """For each of the last ``hours`` hours: the share of expected reports that arrived.

    A site agent (it polls the network) is expected all hour, a counter PC only in the hour's
    open time; an agent from its first report (a back-filled history counts) or its enrolment.
    """
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    counts = [0] * hours
    with engine.connect() as conn:
        since: dict[str, datetime] = dict(
            conn.execute(
                select(agents.c.id, agents.c.created_at).where(
                    agents.c.commune_code == code, agents.c.revoked_at.is_(None)
                )
            ).all()
        )
        site: set[str] = set()
        for agent_id, kind, first in conn.execute(
            select(
                device_state.c.agent_id, device_state.c.kind, device_state.c.first_seen_at
            ).where(device_state.c.commune_code == code)
        ):
            if agent_id not in since:
                continue
            since[agent_id] = min(since[agent_id], first)
            if kind not in PC_KINDS:
                site.add(agent_id)
        for (measured_at,) in conn.execute(
            select(journal.c.measured_at)
            .join(agents, agents.c.id == journal.c.agent_id)
            .where(
                agents.c.commune_code == code,
                journal.c.measured_at >= start,
                journal.c.measured_at < end,
            )
        ):
            counts[int((measured_at - start).total_seconds() // 3600)] += 1
    per_second = 1 / max(1.0, heartbeat.total_seconds())
    series: list[tuple[datetime, float | None]] = []
    for index in range(hours):
        hour = start + timedelta(hours=index)
        until = min(hour + timedelta(hours=1), now)
        expected = 0.0
        for agent_id, first in since.items():
            begin = max(hour, first)
            if begin >= until:
                continue
            if agent_id in site:
                expected += (until - begin).total_seconds() * per_second
            else:
                expected += calendar.working_time(code, begin, until).total_seconds() * per_second
        series.append((hour, min(1.0, counts[index] / expected) if expected >= 1 else None))
    return series


@dataclass(slots=True)
class _Readings:
    """What the devices' latest samples say about the commune's probes and link."""

    probe_ok: dict[str, list[float]] = field(default_factory=dict)
    phases: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    link: dict[str, list[float]] = field(default_factory=dict)

    def probes(self) -> list[Probe]:
        """Each probed system: how many probes reached it, and each phase's median."""
        return [
            Probe(
                target,
                sum(1 for v in oks if v >= 1.0),
                len(oks),
                {
                    phase: _median(values)
                    for phase, values in sorted(self.phases.get(target, {}).items())
                },
            )
            for target, oks in sorted(self.probe_ok.items())
        ]

    def link_medians(self) -> dict[str, float]:
        """The median round trip and loss of the commune's pings."""
        return {key: _median(values) for key, values in self.link.items()}


def _read_sample(
    device: Device, disks: list[float], readings: _Readings, name: str, labels: Any, value: Any
) -> None:
    """File one sample of a device's latest report where the page shows it."""
    if name in ("cpu_percent", "memory_used_percent"):
        setattr(device, "cpu" if name == "cpu_percent" else "memory", float(value))
    elif name == "disk_used_percent":
        disks.append(float(value))
    elif name == "printer_supply_level_percent":
        label = labels.get("type") or labels.get("supply", "?")
        device.supplies.append((str(label), float(value)))
    elif name == "printer_error" and value:
        device.errors.append(str(labels.get("condition", "error")))
    elif name == "probe_success":
        readings.probe_ok.setdefault(labels.get("target", "?"), []).append(float(value))
    elif name in ("probe_phase_seconds", "probe_duration_seconds"):
        by_phase = readings.phases.setdefault(labels.get("target", "?"), {})
        by_phase.setdefault(labels.get("phase", "total"), []).append(float(value))
    elif name == "ping_rtt_seconds":
        readings.link.setdefault("rtt", []).append(float(value))
    elif name == "ping_loss_ratio":
        readings.link.setdefault("loss", []).append(float(value))


def device_of(
    state: Any,
    now: datetime,
    silence: timedelta,
    readings: _Readings,
    os_support: OsSupportTable | None = None,
) -> Device:
    """A device from its ``device_state`` row; its probe and ping samples go to ``readings``.
    A PC also gets its signing chain and (with ``os_support``) its operating system's support."""
    device = Device(state.device_id, state.kind, state.agent_id, state.measured_at)
    disks: list[float] = []
    rows = json.loads(state.samples)
    for name, labels, value, *_measured in rows:
        _read_sample(device, disks, readings, name, labels, value)
    device.disk = max(disks) if disks else None
    if state.kind in ("pc", "kiosk"):
        device.signing = signing_chain(rows, now)
        if os_support is not None:
            facts = json.loads(state.facts or "{}")
            if isinstance(facts, dict):
                device.os = os_view(facts, os_support, local_date(now))
    if now - state.measured_at > silence:
        device.health = "stale"
    elif device.errors or any(
        value is not None and value >= _WARN[metric]
        for metric, value in (
            ("cpu_percent", device.cpu),
            ("memory_used_percent", device.memory),
            ("disk_used_percent", device.disk),
        )
    ):
        device.health = "warn"
    return device


def _mark_off(
    devices: list[Device], agents_now: list[AgentState], expectation: Expectation, now: datetime
) -> None:
    """Silent devices of agents rightly off: "off since 17:05 (shutdown)", not "silent"."""
    judged = {agent.id: expectation.judge(agent, now) for agent in agents_now}
    for device in devices:
        judgement = judged.get(device.agent_id)
        if device.health != "stale" or judgement is None or judgement.verdict is not Verdict.OFF:
            continue
        device.health = "off"
        agent = judgement.agent
        if agent.said_goodbye:
            device.off_since, device.off_reason = agent.goodbye_at, agent.goodbye_reason or ""
        else:
            device.off_since, device.off_reason = agent.last_measured_at, "outside_hours"


def timeline_of(recent_incidents: list[Any], recent_events: list[Any]) -> list[dict[str, Any]]:
    """Incidents and events together, newest first, at most 40."""
    timeline: list[dict[str, Any]] = [
        {
            "at": inc.started_at,
            "until": inc.ended_at,
            "kind": "incident",
            "what": inc.problem_class,
            "subject": inc.device_id or "",
            "active": bool(inc.active),
        }
        for inc in recent_incidents
    ]
    timeline += [
        {
            "at": ev.measured_at,
            "until": None,
            "kind": "event",
            "what": ev.type,
            "subject": ev.device_id,
            "active": False,
            "message": ev.message,
        }
        for ev in recent_events
    ]
    timeline.sort(key=lambda item: item["at"], reverse=True)
    return timeline[:40]


def _rows(conn: Connection, code: str) -> tuple[list[Any], list[Any], list[Any]]:
    """The commune's device states, latest 30 events and latest 30 incidents."""
    states = conn.execute(
        select(device_state)
        .where(device_state.c.commune_code == code)
        .order_by(device_state.c.kind, device_state.c.device_id)
    )
    recent_events = conn.execute(
        select(events)
        .where(events.c.commune_code == code)
        .order_by(events.c.measured_at.desc())
        .limit(30)
    )
    recent_incidents = conn.execute(
        select(incidents)
        .where(incidents.c.commune_code == code)
        .order_by(incidents.c.started_at.desc())
        .limit(30)
    )
    return list(states), list(recent_events), list(recent_incidents)


def commune_detail(
    engine: Engine,
    code: str,
    now: datetime,
    silence: timedelta,
    expectation: Expectation | None = None,
    os_support: OsSupportTable | None = None,
) -> CommuneDetail | None:
    """The commune's page data, or None if no such commune exists. With ``expectation``, a
    silent device whose agent is rightly off (a goodbye, outside opening hours) is "off"; with
    ``os_support``, each PC says whether its operating system is still supported."""
    with engine.connect() as conn:
        row = conn.execute(select(communes).where(communes.c.code == code)).first()
        if row is None:
            return None
        states, recent_events, recent_incidents = _rows(conn, code)
        agents_now = load_states(conn, [code]) if expectation is not None else []
    readings = _Readings()
    devices = [device_of(state, now, silence, readings, os_support) for state in states]
    if expectation is not None:
        _mark_off(devices, agents_now, expectation, now)
    return CommuneDetail(
        row.code,
        row.name,
        row.type,
        devices,
        readings.probes(),
        readings.link_medians(),
        timeline_of(recent_incidents, recent_events),
    )
