"""The province overview: each commune's status now, from the state store, in a few queries.

A commune is *down* when it has agents and none measured within the silence limit (or an active
``site_outage``), *degraded* when some are silent or a link/device incident is active, *slow*
when the procedure software is slow or failing there, *up* otherwise, and *unmonitored* with no
agent. The silence limit is the alert rules' (heartbeat × factor), so the page and the tickets
agree on who is silent.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import orjson
from sqlalchemy import Connection, Engine, func, or_, select

from alerts.schema import incidents, tickets
from collector.schema import agents, communes, device_state
from web.availability import Availability, availability_of, outages_since

Status = Literal["down", "degraded", "slow", "up", "unmonitored"]
# Worst first: the default sort puts what needs attention at the top.
SEVERITY: dict[Status, int] = {"down": 0, "degraded": 1, "slow": 2, "up": 3, "unmonitored": 4}
_DEGRADING = frozenset({"site_link_degraded", "device_down", "device_health", "printer_fault"})
_SLOW = frozenset({"software_slow_site"})


@dataclass(slots=True)
class CommuneStatus:
    """One commune's line on the overview."""

    code: str
    name: str
    type: str
    status: Status = "unmonitored"
    agents: int = 0
    agents_reporting: int = 0
    devices: int = 0
    last_measured_at: datetime | None = None
    problems: list[str] = field(default_factory=list)
    open_tickets: int = 0
    # Median total time of the procedure-software probes measured here recently (seconds).
    software_seconds: float | None = None
    # Today / 7 days / 30 days, from site outages (web.availability); None without alerts.
    availability: Availability | None = None
    monitored_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Overview:
    """Every commune's status, and the province's open tickets by class and owner."""

    communes: list[CommuneStatus]
    by_status: dict[Status, int]
    tickets_by_class: dict[str, int]
    tickets_by_owner: dict[str, int]
    # Median over the communes' medians: the province's usual procedure-software latency.
    software_seconds: float | None = None


def _status(line: CommuneStatus) -> Status:
    if line.agents == 0:
        return "unmonitored"
    if line.agents_reporting == 0 or "site_outage" in line.problems:
        return "down"
    if line.agents_reporting < line.agents or _DEGRADING.intersection(line.problems):
        return "degraded"
    if _SLOW.intersection(line.problems):
        return "slow"
    return "up"


_PROBE_NAMES = ("probe_duration_seconds", "probe_phase_seconds")


def _software_latency(conn: Connection, recent: datetime) -> dict[str, float]:
    """Per commune, the median 'total' probe time of devices that measured it recently."""
    # LIKE first: only the rows holding probe samples are parsed (a few hundred of 5,000).
    query = select(device_state.c.commune_code, device_state.c.samples).where(
        device_state.c.measured_at > recent,
        or_(*(device_state.c.samples.like(f'%"{name}"%') for name in _PROBE_NAMES)),
    )
    times: dict[str, list[float]] = {}
    for code, samples in conn.execute(query):
        for name, labels, value, *_measured in orjson.loads(samples):
            if name in _PROBE_NAMES and labels.get("phase") == "total":
                times.setdefault(code, []).append(float(value))
    return {code: statistics.median(values) for code, values in times.items()}


def overview(
    engine: Engine, now: datetime, silence: timedelta, *, with_availability: bool = True
) -> Overview:
    """Every commune with its status, agents, devices, active problems and open tickets.

    ``with_availability`` is False when no alert engine writes site outages (no figure then).
    """
    recent = now - silence
    with engine.connect() as conn:
        lines = {
            row.code: CommuneStatus(row.code, row.name, row.type)
            for row in conn.execute(
                select(communes.c.code, communes.c.name, communes.c.type).order_by(communes.c.code)
            )
        }
        for row in conn.execute(
            select(
                agents.c.commune_code,
                func.count(),
                func.count().filter(agents.c.last_measured_at > recent),
                func.max(agents.c.last_measured_at),
                func.min(agents.c.created_at),
            )
            .where(agents.c.revoked_at.is_(None))
            .group_by(agents.c.commune_code)
        ):
            line = lines.get(row[0])
            if line is not None:
                line.agents, line.agents_reporting, line.last_measured_at = (
                    int(row[1]),
                    int(row[2]),
                    row[3],
                )
                line.monitored_since = row[4]
        for code, number in conn.execute(
            select(device_state.c.commune_code, func.count()).group_by(device_state.c.commune_code)
        ):
            if code in lines:
                lines[code].devices = int(number)
        for code, problem_class in conn.execute(
            select(incidents.c.commune_code, incidents.c.problem_class)
            .where(incidents.c.active.is_(True), incidents.c.commune_code.is_not(None))
            .distinct()
        ):
            if code in lines:
                lines[code].problems.append(problem_class)
        outages = outages_since(conn, now) if with_availability else {}
        for code, seconds in _software_latency(conn, recent).items():
            if code in lines:
                lines[code].software_seconds = seconds
        by_class: Counter[str] = Counter()
        by_owner: Counter[str] = Counter()
        for code, problem_class, owner, number in conn.execute(
            select(tickets.c.commune_code, tickets.c.problem_class, tickets.c.owner, func.count())
            .where(tickets.c.state != "resolved")
            .group_by(tickets.c.commune_code, tickets.c.problem_class, tickets.c.owner)
        ):
            by_class[problem_class] += int(number)
            by_owner[owner] += int(number)
            if code in lines:
                lines[code].open_tickets += int(number)
    by_status: Counter[Status] = Counter()
    for line in lines.values():
        if with_availability:
            line.availability = availability_of(
                outages.get(line.code, ()), line.monitored_since, now
            )
        line.problems.sort()
        line.status = _status(line)
        by_status[line.status] += 1
    medians = [line.software_seconds for line in lines.values() if line.software_seconds]
    return Overview(
        list(lines.values()),
        {status: by_status.get(status, 0) for status in SEVERITY},
        dict(by_class.most_common()),
        dict(by_owner.most_common()),
        statistics.median(medians) if medians else None,
    )


def _month(line: CommuneStatus) -> float:
    figure = line.availability.month if line.availability is not None else None
    return 2.0 if figure is None else figure


SortKey = Literal["status", "name", "tickets", "code", "software", "availability"]


def select_communes(
    lines: list[CommuneStatus], *, status: str | None, query: str, sort: SortKey
) -> list[CommuneStatus]:
    """The overview's lines filtered by status and a name/code search, sorted."""
    needle = query.strip().casefold()
    chosen = [
        line
        for line in lines
        if (status is None or line.status == status)
        and (not needle or needle in line.name.casefold() or line.code.startswith(needle))
    ]
    if sort == "name":
        chosen.sort(key=lambda line: (line.name.casefold(), line.code))
    elif sort == "tickets":
        chosen.sort(key=lambda line: (-line.open_tickets, SEVERITY[line.status], line.code))
    elif sort == "software":
        chosen.sort(key=lambda line: (-(line.software_seconds or -1.0), line.code))
    elif sort == "availability":
        # Least available over 30 days first; communes without a figure last.
        chosen.sort(key=lambda line: (_month(line), line.code))
    elif sort == "code":
        chosen.sort(key=lambda line: line.code)
    else:
        chosen.sort(key=lambda line: (SEVERITY[line.status], -line.open_tickets, line.code))
    return chosen
