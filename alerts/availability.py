"""Each commune's availability in opening hours, today, over 7 and over 30 days, from its site
outages: what a citizen at the counter lived, which is also what DOST reports and what an ISP's
contract is judged on.

The source is the alert engine's ``site_outage`` incidents (``alerts.schema.incidents``), not the
journal: an outage's start and end are agent measured-at times that replayed reports and the
agents' own link evidence correct, and incidents are never pruned, so 30 days are there. The
journal would be wrong twice: its rows are pruned after ``journal_retention_days`` (7 by
default), and a cut commune's agents keep measuring and send their spool when the link returns,
so its reports per hour come back full for the very hours the commune was offline.

Availability = 1 − (open time inside a site outage) / (open time the commune was monitored in
the window), open time being the working calendar's sessions (nights, weekends and holidays do
not count, up or down); the window starts at midnight Vietnam time for *today*, and 7 or 30 days
before now otherwise, but never before the commune's first report (its back-filled history
counts: monitoring began with the first measurement, not with the enrolment). No report, or no
alert engine (alerts disabled: no incidents are written), gives no figure rather than a false
100 %; so does a window with no open time (a Sunday's *today*).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, or_, select

from agent.vntime import VN_TZ
from alerts.calendar import WorkingCalendar
from alerts.schema import incidents
from collector.schema import agents, device_state

WINDOWS: tuple[str, ...] = ("today", "7d", "30d")
LONGEST = timedelta(days=30)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Availability:
    """Share of the window the commune was up (0..1), None where nothing was monitored."""

    today: float | None
    week: float | None
    month: float | None

    def by_window(self) -> dict[str, float | None]:
        """The three figures keyed as the templates name them."""
        return {"today": self.today, "7d": self.week, "30d": self.month}


def window_starts(now: datetime) -> dict[str, datetime]:
    """Where each window begins: local midnight today, and 7 and 30 days ago."""
    local = now.astimezone(VN_TZ)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"today": midnight, "7d": now - timedelta(days=7), "30d": now - LONGEST}


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    # Reopened or overlapping outages of one commune must not count twice.
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def availability_of(
    outages: Iterable[Interval],
    monitored_since: datetime | None,
    now: datetime,
    calendar: WorkingCalendar,
    commune: str | None = None,
) -> Availability:
    """One commune's availability in opening hours from its outage intervals (pure: no store)."""
    if monitored_since is None:
        return Availability(None, None, None)
    merged = _merged(outages)
    figures: list[float | None] = []
    for start in window_starts(now).values():
        begin = max(start, monitored_since)
        if begin >= now:
            figures.append(None)
            continue
        open_time = calendar.working_time(commune, begin, now).total_seconds()
        if open_time <= 0:
            figures.append(None)
            continue
        down = sum(
            calendar.working_time(commune, max(first, begin), min(end, now)).total_seconds()
            for first, end in merged
            if min(end, now) > max(first, begin)
        )
        figures.append(max(0.0, 1.0 - down / open_time))
    return Availability(*figures)


def monitored_since(conn: Connection, code: str | None = None) -> dict[str, datetime]:
    """Per commune (or of one), its first report: back-filled history included."""
    query = (
        select(device_state.c.commune_code, func.min(device_state.c.first_seen_at))
        .join(agents, agents.c.id == device_state.c.agent_id)
        .where(agents.c.revoked_at.is_(None))
        .group_by(device_state.c.commune_code)
    )
    if code is not None:
        query = query.where(device_state.c.commune_code == code)
    return {commune: first for commune, first in conn.execute(query) if first is not None}


def outages_since(
    conn: Connection, now: datetime, code: str | None = None
) -> dict[str, list[Interval]]:
    """Per commune (or of one), the site outages overlapping the last 30 days (an active one
    ends now)."""
    start = now - LONGEST
    query = select(incidents.c.commune_code, incidents.c.started_at, incidents.c.ended_at).where(
        incidents.c.problem_class == "site_outage",
        incidents.c.commune_code.is_not(None),
        incidents.c.started_at < now,
        or_(incidents.c.ended_at.is_(None), incidents.c.ended_at > start),
    )
    if code is not None:
        query = query.where(incidents.c.commune_code == code)
    found: dict[str, list[Interval]] = {}
    for code_, began, ended in conn.execute(query):
        found.setdefault(code_, []).append((began, ended or now))
    return found


def commune_availability(
    engine: Engine, code: str, now: datetime, calendar: WorkingCalendar
) -> Availability:
    """One commune's three figures (its page)."""
    with engine.connect() as conn:
        since = monitored_since(conn, code).get(code)
        outages = outages_since(conn, now, code)
    return availability_of(outages.get(code, ()), since, now, calendar, code)


@dataclass(frozen=True, slots=True)
class PeriodAvailability:
    """One commune's open time and downtime in opening hours over a period, and their share."""

    open_time: timedelta
    down_time: timedelta

    @property
    def share(self) -> float | None:
        """Share of the open time the commune was up (0..1), None where nothing was open."""
        if self.open_time <= timedelta(0):
            return None
        return max(0.0, 1.0 - self.down_time / self.open_time)


def availability_between(
    outages: Iterable[Interval],
    monitored_since: datetime | None,
    start: datetime,
    end: datetime,
    calendar: WorkingCalendar,
    commune: str | None = None,
) -> PeriodAvailability:
    """One commune's availability in opening hours over [``start``, ``end``) (a report's month
    or quarter), counted from its first report; pure, as :func:`availability_of`."""
    none = PeriodAvailability(timedelta(0), timedelta(0))
    if monitored_since is None:
        return none
    begin = max(start, monitored_since)
    if begin >= end:
        return none
    open_time = calendar.working_time(commune, begin, end)
    down = sum(
        (
            calendar.working_time(commune, max(first, begin), min(last, end))
            for first, last in _merged(outages)
            if min(last, end) > max(first, begin)
        ),
        start=timedelta(0),
    )
    return PeriodAvailability(open_time, min(down, open_time))


def outages_between(
    conn: Connection, start: datetime, end: datetime, now: datetime
) -> dict[str, list[Interval]]:
    """Per commune, the site outages overlapping [``start``, ``end``); one still active ends
    ``now``."""
    query = select(incidents.c.commune_code, incidents.c.started_at, incidents.c.ended_at).where(
        incidents.c.problem_class == "site_outage",
        incidents.c.commune_code.is_not(None),
        incidents.c.started_at < end,
        or_(incidents.c.ended_at.is_(None), incidents.c.ended_at > start),
    )
    found: dict[str, list[Interval]] = {}
    for code, began, ended in conn.execute(query):
        found.setdefault(code, []).append((began, ended or now))
    return found
