"""The province overview: each commune's status now, from the state store, in a few queries.

A commune is *down* when it has agents and none measured within the silence limit (or an active
``site_outage``), *degraded* when some are silent or a link/device incident is active, *slow*
when the procedure software is slow or failing there, *up* otherwise, and *unmonitored* with no
agent. The silence limit is the alert rules' (heartbeat × factor), so the page and the tickets
agree on who is silent. The signing certificates on the counters' USB tokens that expire this
month (Vietnam's calendar month) are counted for the province and per commune (issue 23).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import orjson
from sqlalchemy import Connection, Engine, func, or_, select

from agent.vntime import local_date
from alerts.availability import Availability, availability_of, monitored_since, outages_since
from alerts.expectation import Expectation, Verdict, load_states
from alerts.schema import incidents, tickets
from collector.schema import agents, communes, device_state

Status = Literal["down", "degraded", "slow", "up", "closed", "unmonitored"]
# Worst first: the default sort puts what needs attention at the top.
SEVERITY: dict[Status, int] = {
    "down": 0,
    "degraded": 1,
    "slow": 2,
    "up": 3,
    "closed": 4,
    "unmonitored": 5,
}
_DEGRADING = frozenset(
    {
        "site_link_degraded",
        "device_down",
        "device_health",
        "printer_fault",
        # A counter that cannot sign cannot return a result (issue 23).
        "token_missing",
        "signing_plugin_down",
    }
)
# A certificate last read longer ago than this (its token long unplugged) is not counted.
CERT_STALE = timedelta(days=30)
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
    # Today / 7 days / 30 days in opening hours, from site outages (alerts.availability);
    # None without alerts.
    availability: Availability | None = None
    monitored_since: datetime | None = None
    # Agents silent while expected (alerts.expectation): a fault, not a PC switched off.
    agents_silent: int = 0
    # Signing certificates on its tokens expiring in this calendar month (or already expired).
    certs_this_month: int = 0


@dataclass(frozen=True, slots=True)
class CertificateCount:
    """Signing certificates seen on the counters' tokens, by when they expire."""

    month: str  # "03/2026", Vietnam's calendar month of ``now``
    this_month: int = 0  # expiring (or expired) within this month
    left_this_month: int = 0  # ... of which still valid now
    expired: int = 0  # expired (any month), still on a token


@dataclass(frozen=True, slots=True)
class Overview:
    """Every commune's status, and the province's open tickets by class and owner."""

    communes: list[CommuneStatus]
    by_status: dict[Status, int]
    tickets_by_class: dict[str, int]
    tickets_by_owner: dict[str, int]
    # Median over the communes' medians: the province's usual procedure-software latency.
    software_seconds: float | None = None
    certificates: CertificateCount | None = None


def _status(line: CommuneStatus) -> Status:
    if line.agents == 0:
        return "unmonitored"
    if "site_outage" in line.problems or "upstream_outage" in line.problems:
        return "down"
    if line.agents_reporting == 0:
        # Nobody reports: cut if any agent should, closed if every one is rightly off.
        return "down" if line.agents_silent else "closed"
    if line.agents_silent or _DEGRADING.intersection(line.problems):
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


def _certificates(conn: Connection, now: datetime) -> tuple[CertificateCount, dict[str, int]]:
    """Distinct certificates (issuer, serial) on the tokens, and per commune those of this
    month; the days a PC reported count on from when it measured them."""
    today = local_date(now)
    query = select(device_state.c.commune_code, device_state.c.samples).where(
        device_state.c.measured_at > now - CERT_STALE,
        device_state.c.samples.like('%"signing_cert_expiry_days"%'),
    )
    seen: dict[tuple[str, str], tuple[str, datetime]] = {}
    for code, samples in conn.execute(query):
        for name, labels, value, *measured in orjson.loads(samples):
            if name != "signing_cert_expiry_days" or not measured:
                continue
            at = datetime.fromtimestamp(float(measured[0]), now.tzinfo)
            if now - at > CERT_STALE:
                continue
            key = (str(labels.get("issuer", "")), str(labels.get("serial", "")))
            seen[key] = (code, at + timedelta(days=float(value)))
    this_month = left = expired = 0
    per_commune: Counter[str] = Counter()
    for code, expires in seen.values():
        day = local_date(expires)
        if (day.year, day.month) == (today.year, today.month):
            this_month += 1
            left += int(expires >= now)
            per_commune[code] += 1
        expired += int(expires < now)
    month = f"{today.month:02d}/{today.year}"
    return CertificateCount(month, this_month, left, expired), dict(per_commune)


def overview(
    engine: Engine,
    now: datetime,
    expectation: Expectation,
    *,
    with_availability: bool = True,
) -> Overview:
    """Every commune with its status, agents, devices, active problems and open tickets.

    ``with_availability`` is False when no alert engine writes site outages (no figure then).
    """
    recent = now - expectation.limit
    calendar = expectation.calendar
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
        for agent in load_states(conn):
            line = lines.get(agent.commune_code)
            if line is not None and expectation.judge(agent, now).verdict is Verdict.SILENT:
                line.agents_silent += 1
        outages = outages_since(conn, now) if with_availability else {}
        for code, first in monitored_since(conn).items():
            if code in lines:
                lines[code].monitored_since = first
        for code, seconds in _software_latency(conn, recent).items():
            if code in lines:
                lines[code].software_seconds = seconds
        certificates, certs_by_commune = _certificates(conn, now)
        for code, number in certs_by_commune.items():
            if code in lines:
                lines[code].certs_this_month = number
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
                outages.get(line.code, ()), line.monitored_since, now, calendar, line.code
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
        certificates,
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
