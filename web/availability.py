"""Each commune's availability today, over 7 days and over 30 days, from its site outages.

The source is the alert engine's ``site_outage`` incidents (``alerts.schema.incidents``), not the
journal: an outage's start and end are agent measured-at times that replayed reports and the
agents' own link evidence correct, and incidents are never pruned, so 30 days are there. The
journal would be wrong twice: its rows are pruned after ``journal_retention_days`` (7 by
default), and a cut commune's agents keep measuring and send their spool when the link returns,
so its reports per hour come back full for the very hours the commune was offline.

Availability = 1 − (time inside a site outage) / (time the commune was monitored in the window);
the window starts at midnight Vietnam time for *today*, and 7 or 30 days before now otherwise,
but never before the commune's first agent enrolled. No agent, or no alert engine (alerts
disabled: no incidents are written), gives no figure rather than a false 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, or_, select

from alerts.schema import incidents
from alerts.text import VN_TZ
from collector.schema import agents

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
    outages: Iterable[Interval], monitored_since: datetime | None, now: datetime
) -> Availability:
    """One commune's availability from its outage intervals (pure: no store, no clock)."""
    if monitored_since is None:
        return Availability(None, None, None)
    merged = _merged(outages)
    figures: list[float | None] = []
    for start in window_starts(now).values():
        begin = max(start, monitored_since)
        span = (now - begin).total_seconds()
        if span <= 0:
            figures.append(None)
            continue
        down = sum(
            max(0.0, (min(end, now) - max(first, begin)).total_seconds()) for first, end in merged
        )
        figures.append(max(0.0, 1.0 - down / span))
    return Availability(*figures)


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


def commune_availability(engine: Engine, code: str, now: datetime) -> Availability:
    """One commune's three figures (its page)."""
    with engine.connect() as conn:
        since = conn.execute(
            select(func.min(agents.c.created_at)).where(
                agents.c.commune_code == code, agents.c.revoked_at.is_(None)
            )
        ).scalar_one_or_none()
        outages = outages_since(conn, now, code)
    return availability_of(outages.get(code, ()), since, now)
