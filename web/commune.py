"""One commune's page: its devices and their health, link, probes, printer supplies, timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from alerts.schema import incidents
from collector.schema import agents, communes, device_state, events, journal

# Above these a PC needs attention (the alert rules decide tickets; this only colours the page).
_WARN = {"cpu_percent": 90.0, "memory_used_percent": 90.0, "disk_used_percent": 90.0}


@dataclass(slots=True)
class Device:
    """A device with the few numbers a person reads first."""

    device_id: str
    kind: str
    agent_id: str
    measured_at: datetime
    health: str = "ok"  # ok, warn, stale
    cpu: float | None = None
    memory: float | None = None
    disk: float | None = None
    supplies: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


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
    engine: Engine, code: str, now: datetime, heartbeat: timedelta, hours: int = 24
) -> list[tuple[datetime, float | None]]:
    """For each of the last ``hours`` hours: the share of expected reports that arrived."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    counts = [0] * hours
    with engine.connect() as conn:
        enrolled = list(
            conn.execute(
                select(agents.c.created_at).where(
                    agents.c.commune_code == code, agents.c.revoked_at.is_(None)
                )
            ).scalars()
        )
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
    per_agent = 3600 / max(1.0, heartbeat.total_seconds())
    series: list[tuple[datetime, float | None]] = []
    for index in range(hours):
        hour = start + timedelta(hours=index)
        # An agent counts from the hour it enrolled; the current hour only up to now.
        elapsed = min(1.0, max(0.0, (now - hour).total_seconds() / 3600))
        agents_then = sum(1 for created in enrolled if created < hour + timedelta(hours=1))
        expected = agents_then * per_agent * elapsed
        series.append((hour, min(1.0, counts[index] / expected) if expected >= 1 else None))
    return series


def commune_detail(
    engine: Engine, code: str, now: datetime, silence: timedelta
) -> CommuneDetail | None:
    """The commune's page data, or None if no such commune exists."""
    with engine.connect() as conn:
        row = conn.execute(select(communes).where(communes.c.code == code)).first()
        if row is None:
            return None
        states = list(
            conn.execute(
                select(device_state)
                .where(device_state.c.commune_code == code)
                .order_by(device_state.c.kind, device_state.c.device_id)
            )
        )
        recent_events = list(
            conn.execute(
                select(events)
                .where(events.c.commune_code == code)
                .order_by(events.c.measured_at.desc())
                .limit(30)
            )
        )
        recent_incidents = list(
            conn.execute(
                select(incidents)
                .where(incidents.c.commune_code == code)
                .order_by(incidents.c.started_at.desc())
                .limit(30)
            )
        )
    devices: list[Device] = []
    probe_ok: dict[str, list[float]] = {}
    phases: dict[str, dict[str, list[float]]] = {}
    link: dict[str, list[float]] = {}
    for state in states:
        device = Device(state.device_id, state.kind, state.agent_id, state.measured_at)
        disks: list[float] = []
        for name, labels, value, *_measured in json.loads(state.samples):
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
                probe_ok.setdefault(labels.get("target", "?"), []).append(float(value))
            elif name in ("probe_phase_seconds", "probe_duration_seconds"):
                by_phase = phases.setdefault(labels.get("target", "?"), {})
                by_phase.setdefault(labels.get("phase", "total"), []).append(float(value))
            elif name == "ping_rtt_seconds":
                link.setdefault("rtt", []).append(float(value))
            elif name == "ping_loss_ratio":
                link.setdefault("loss", []).append(float(value))
        device.disk = max(disks) if disks else None
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
        devices.append(device)
    probes = [
        Probe(
            target,
            sum(1 for v in oks if v >= 1.0),
            len(oks),
            {phase: _median(values) for phase, values in sorted(phases.get(target, {}).items())},
        )
        for target, oks in sorted(probe_ok.items())
    ]
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
    return CommuneDetail(
        row.code,
        row.name,
        row.type,
        devices,
        probes,
        {key: _median(values) for key, values in link.items()},
        timeline[:40],
    )
