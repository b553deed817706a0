"""The working calendar: when the commune centres are open, as data a province edits.

Opening hours (default Monday–Friday 07:00–11:30 and 13:30–17:00, Saturday morning per commune),
Vietnam's public holidays from the maintained ``holidays`` package (lunar Tết included, observed
and swapped days off), the Government's announced make-up working days and per-commune
overrides (``calendar.yaml``). Alerting asks it whether a counter PC is expected up, and an
owner's working-hours SLA counts only its open time. Times are aware datetimes; sessions are in
Vietnam time (UTC+7, no daylight saving).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import holidays
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.vntime import VN_TZ
from alerts.errors import RulesError
from alerts.rules import Duration, yaml_mapping

_SECTIONS = (
    "opening_hours",
    "grace_after_opening",
    "make_up_days",
    "extra_days_off",
    "communes",
)
WEEKDAY_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Session(_Model):
    """One opening session of a day, local time: ``from`` (inclusive) to ``to`` (exclusive)."""

    start: time = Field(alias="from")
    end: time = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Session:
        if self.end <= self.start:
            raise ValueError(f"'to' {self.end:%H:%M} is not after 'from' {self.start:%H:%M}")
        return self


def _sessions_ordered(sessions: tuple[Session, ...]) -> tuple[Session, ...]:
    for before, after in itertools.pairwise(sessions):
        if after.start < before.end:
            raise ValueError(
                f"sessions overlap or are out of order: {before.start:%H:%M}–{before.end:%H:%M} "
                f"then {after.start:%H:%M}–{after.end:%H:%M}"
            )
    return sessions


class OpeningHours(_Model):
    """The province's default sessions."""

    weekdays: tuple[Session, ...] = (
        Session(**{"from": time(7, 0), "to": time(11, 30)}),
        Session(**{"from": time(13, 30), "to": time(17, 0)}),
    )
    saturday_morning: Session = Session(**{"from": time(7, 0), "to": time(11, 30)})

    @model_validator(mode="after")
    def _ordered(self) -> OpeningHours:
        _sessions_ordered(self.weekdays)
        return self


class MakeUpDay(_Model):
    """A weekend day worked in exchange for a day off, with the announcement it comes from."""

    date: dt.date
    replaces: dt.date
    source: str = Field(min_length=3)


class DayOff(_Model):
    """A day off the holidays package does not know yet, with its source."""

    date: dt.date
    name: str = Field(min_length=1)
    source: str = Field(min_length=3)


class CommuneHours(_Model):
    """One commune's differences from the province's calendar."""

    saturday_morning: bool = False
    weekdays: tuple[Session, ...] | None = None
    closed: tuple[date, ...] = ()
    open: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> CommuneHours:
        if self.weekdays is not None:
            _sessions_ordered(self.weekdays)
        return self


class CalendarData(_Model):
    """The whole ``calendar.yaml``."""

    opening_hours: OpeningHours = OpeningHours()
    grace_after_opening: Duration = timedelta(minutes=30)
    make_up_days: tuple[MakeUpDay, ...] = ()
    extra_days_off: tuple[DayOff, ...] = ()
    communes: dict[str, CommuneHours] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One day of one commune: its open sessions (aware datetimes) and why it is (not) open."""

    day: date
    sessions: tuple[tuple[datetime, datetime], ...]
    # The holiday's name (Vietnamese) when closed for one; "weekend"; or None on a working day.
    reason: str | None
    make_up: bool = False

    @property
    def open(self) -> bool:
        """Whether the centre opens at all that day."""
        return bool(self.sessions)


class WorkingCalendar:
    """Opening sessions per commune and day, and working time between two instants."""

    def __init__(self, data: CalendarData, source: str = "calendar.yaml") -> None:
        self.data = data
        self.source = source
        self._make_up = {day.date: day for day in data.make_up_days}
        self._extra_off = {day.date: day.name for day in data.extra_days_off}

    @property
    def grace(self) -> timedelta:
        """How long after a session opens a counter PC is expected up."""
        return self.data.grace_after_opening

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a calendar lives as long as the process
    def _holidays(self, year: int) -> dict[date, str]:
        found = holidays.country_holidays("VN", years=year, language="vi")
        return {day: str(name) for day, name in found.items()}

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday (or swapped day off) ``day`` is, if any."""
        return self._extra_off.get(day) or self._holidays(day.year).get(day)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - small, and days repeat all the time
    def day(self, commune: str | None, day: date) -> DayPlan:
        """The plan of ``day`` at ``commune`` (None: the province's default)."""
        hours = self.data.communes.get(commune) if commune is not None else None
        local: tuple[Session, ...] = ()
        reason: str | None = None
        make_up = day in self._make_up
        if hours is not None and day in hours.closed:
            reason = "đóng cửa theo lịch của xã"
        elif hours is not None and day in hours.open:
            local = hours.weekdays or self.data.opening_hours.weekdays
        elif (name := self.holiday(day)) is not None:
            reason = name
        elif day.weekday() < 5 or make_up:
            local = (
                hours.weekdays
                if hours is not None and hours.weekdays is not None
                else self.data.opening_hours.weekdays
            )
        elif day.weekday() == 5 and hours is not None and hours.saturday_morning:
            local = (self.data.opening_hours.saturday_morning,)
        else:
            reason = "cuối tuần"
        sessions = tuple(
            (
                datetime.combine(day, session.start, VN_TZ),
                datetime.combine(day, session.end, VN_TZ),
            )
            for session in local
        )
        return DayPlan(day, sessions, reason, make_up)

    def sessions(
        self, commune: str | None, start: datetime, end: datetime, *, clip: bool = True
    ) -> Iterator[tuple[datetime, datetime]]:
        """The open sessions overlapping [``start``, ``end``), in order; clipped to it unless
        ``clip`` is false."""
        day = start.astimezone(VN_TZ).date()
        last = end.astimezone(VN_TZ).date()
        while day <= last:
            for opened, closed in self.day(commune, day).sessions:
                lo, hi = max(opened, start), min(closed, end)
                if lo < hi:
                    yield (lo, hi) if clip else (opened, closed)
            day += timedelta(days=1)

    def is_open(self, commune: str | None, at: datetime) -> bool:
        """Whether the centre is in an open session at ``at``."""
        return any(opened <= at < closed for opened, closed in self._today(commune, at))

    def expected_up(self, commune: str | None, at: datetime) -> bool:
        """Whether a counter PC should be up at ``at``: in a session, past its grace period."""
        return any(
            opened + self.grace <= at < closed for opened, closed in self._today(commune, at)
        )

    def session_at(self, commune: str | None, at: datetime) -> tuple[datetime, datetime] | None:
        """The session ``at`` falls in, if any."""
        for opened, closed in self._today(commune, at):
            if opened <= at < closed:
                return opened, closed
        return None

    def first_session_start(self, commune: str | None, at: datetime) -> datetime | None:
        """When the day of ``at`` first opened (None on a closed day)."""
        sessions = self._today(commune, at)
        return sessions[0][0] if sessions else None

    def working_time(self, commune: str | None, start: datetime, end: datetime) -> timedelta:
        """Open time between ``start`` and ``end``."""
        return sum((hi - lo for lo, hi in self.sessions(commune, start, end)), start=timedelta(0))

    def add_working_time(
        self, commune: str | None, start: datetime, duration: timedelta
    ) -> datetime:
        """The instant ``duration`` of open time after ``start`` (a working-hours deadline)."""
        left = duration
        day = start.astimezone(VN_TZ).date()
        for _ in range(3 * 366):  # a year of closures at most; then the calendar is broken
            for opened, closed in self.day(commune, day).sessions:
                lo = max(opened, start)
                if lo >= closed:
                    continue
                if closed - lo >= left:
                    return lo + left
                left -= closed - lo
            day += timedelta(days=1)
        raise RulesError(f"{self.source}: no open session within three years of {start:%Y-%m-%d}")

    def _today(self, commune: str | None, at: datetime) -> tuple[tuple[datetime, datetime], ...]:
        return self.day(commune, at.astimezone(VN_TZ).date()).sessions


def parse_calendar(text: str, source: str = "calendar.yaml") -> WorkingCalendar:
    """Validate a calendar document; errors name the file, the section and the field."""
    data: dict[str, Any] = yaml_mapping(text, source, _SECTIONS, "section", "the calendar")
    try:
        parsed = CalendarData.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(calendar)"
        raise RulesError(
            f"{source}, field '{field}': {first['msg']} (got {first.get('input')!r})"
        ) from None
    for number, make_up in enumerate(parsed.make_up_days):
        if make_up.date.weekday() < 5:
            raise RulesError(
                f"{source}, field 'make_up_days.{number}.date': {make_up.date} is a weekday; a "
                "make-up working day is a Saturday or Sunday"
            )
    for code in parsed.communes:
        if not (len(code) == 5 and code.isdigit()):
            raise RulesError(f"{source}, field 'communes.{code}': not a 5-digit commune code")
    return WorkingCalendar(parsed, source)


def load_calendar(path: Path | None = None) -> WorkingCalendar:
    """A calendar file, or the bundled defaults."""
    if path is None:
        text = resources.files("alerts").joinpath("calendar.yaml").read_text(encoding="utf-8")
        return parse_calendar(text, "calendar.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_calendar(text, path.name)
