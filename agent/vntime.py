"""Vietnam time: how every part shows a stored UTC time and finds the local day.

Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact and needs
no time-zone database (which a counter PC on Windows may lack). Shared by both programs, like
the wire schema: the agent's CLI prints local times, the collector's pages, tickets, register
and calendar use local days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

OFFSET = timedelta(hours=7)
VN_TZ = timezone(OFFSET, "Asia/Ho_Chi_Minh")


def to_local(at: datetime) -> datetime:
    """``at`` (aware) as a Vietnam wall-clock time."""
    return at.astimezone(VN_TZ)


def local_date(at: datetime) -> date:
    """The Vietnam calendar day of ``at`` (aware)."""
    return at.astimezone(VN_TZ).date()


def local_midnight(day: date) -> datetime:
    """00:00 of ``day`` in Vietnam, as an aware datetime."""
    return datetime.combine(day, time(0, 0), VN_TZ)


def format_local(at: datetime) -> str:
    """``HH:MM dd/mm/yyyy`` in Vietnam time, as tickets and pages show it."""
    return at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
