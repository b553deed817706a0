"""Maintenance windows and silences: declared times when a problem raises no ticket.

As Zabbix maintenance periods and Alertmanager silences / mute time intervals do: a window has a
scope (central systems, communes, devices, problem classes; an empty list matches all) and a time
(one-off, or weekly on given days from a local start time for a duration, between ``starts_at``
and ``ends_at``). While one covers a problem its incident is recorded as in maintenance, no
ticket is raised, and the SLA clocks of tickets it covers stop. Windows are created and cancelled
by people (console, API, CLI), with a reason and an author, each change audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, select, update

from agent.vntime import VN_TZ
from alerts.errors import WindowConflict, WindowNotFound
from alerts.rules import ProblemClass
from alerts.schema import windows
from collector import audit

MAX_SCOPE_ITEMS = 500
MAX_DURATION = timedelta(days=366)


class Scope(BaseModel):
    """What a window covers; an empty list matches everything of that dimension."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    systems: tuple[str, ...] = Field(default=(), max_length=MAX_SCOPE_ITEMS)
    communes: tuple[str, ...] = Field(default=(), max_length=MAX_SCOPE_ITEMS)
    devices: tuple[str, ...] = Field(default=(), max_length=MAX_SCOPE_ITEMS)
    problem_classes: tuple[ProblemClass, ...] = Field(default=(), max_length=MAX_SCOPE_ITEMS)

    @field_validator("communes")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not (len(code) == 5 and code.isdigit()):
                raise ValueError(f"{code!r} is not a 5-digit commune code")
        return value

    @field_validator("systems", "devices")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not 1 <= len(name) <= 128 or any(ch.isspace() for ch in name):
                raise ValueError(f"{name!r} is not a system or device id")
        return value

    def matches(
        self,
        problem_class: str,
        commune_code: str | None,
        device_id: str | None,
        system: str | None,
    ) -> bool:
        """Whether a problem of this class, place and system is inside the scope."""
        for allowed, value in (
            (self.problem_classes, problem_class),
            (self.communes, commune_code),
            (self.devices, device_id),
            (self.systems, system),
        ):
            if allowed and value not in allowed:
                return False
        return True


class WindowSpec(BaseModel):
    """A window as a person declares it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["maintenance", "silence"] = "maintenance"
    reason: str = Field(min_length=3, max_length=500)
    starts_at: datetime
    ends_at: datetime
    recurrence: Literal["once", "weekly"] = "once"
    # ISO weekdays (1 = Monday … 7 = Sunday) of a weekly window, and its local start and length.
    weekdays: tuple[int, ...] = Field(default=(), max_length=7)
    local_start: time | None = None
    duration_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)
    scope: Scope = Scope()

    @model_validator(mode="after")
    def _consistent(self) -> WindowSpec:
        for name in ("starts_at", "ends_at"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must carry a time zone (e.g. +07:00)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > MAX_DURATION:
            raise ValueError("a window may last at most a year; declare the next one later")
        if self.recurrence == "weekly":
            if not self.weekdays or any(not 1 <= day <= 7 for day in self.weekdays):
                raise ValueError("a weekly window needs weekdays, each 1 (Monday) to 7 (Sunday)")
            if self.local_start is None or self.duration_minutes < 1:
                raise ValueError("a weekly window needs local_start (HH:MM) and duration_minutes")
        elif self.weekdays or self.local_start is not None or self.duration_minutes:
            raise ValueError("weekdays, local_start and duration_minutes are for weekly windows")
        return self


@dataclass(frozen=True, slots=True)
class Window:
    """A stored window."""

    id: int
    spec: WindowSpec
    author: str
    created_at: datetime
    cancelled_at: datetime | None

    def occurrence(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence of the window that covers ``at``, if any."""
        spec = self.spec
        if self.cancelled_at is not None and at >= self.cancelled_at:
            return None
        if not spec.starts_at <= at < spec.ends_at:
            return None
        if spec.recurrence == "once":
            return spec.starts_at, spec.ends_at
        assert spec.local_start is not None
        length = timedelta(minutes=spec.duration_minutes)
        local = at.astimezone(VN_TZ).date()
        # An occurrence that began on an earlier day may still run (a night window past 00:00).
        for back in range(8):
            day: date = local - timedelta(days=back)
            if day.isoweekday() not in spec.weekdays:
                continue
            start = datetime.combine(day, spec.local_start, VN_TZ)
            if start <= at < start + length:
                return max(start, spec.starts_at), min(start + length, spec.ends_at)
        return None

    def covers(
        self,
        at: datetime,
        problem_class: str,
        commune_code: str | None,
        device_id: str | None,
        system: str | None,
    ) -> bool:
        """Whether the window covers a problem of this class and place at ``at``."""
        return self.occurrence(at) is not None and self.spec.scope.matches(
            problem_class, commune_code, device_id, system
        )

    def view(self) -> dict[str, Any]:
        """The window as the API and the console show it."""
        return {
            "id": self.id,
            **self.spec.model_dump(mode="json"),
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "cancelled_at": self.cancelled_at.isoformat() if self.cancelled_at else None,
        }


def _window(row: Any) -> Window:
    spec = WindowSpec(
        kind=row.kind,
        reason=row.reason,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        recurrence=row.recurrence,
        weekdays=tuple(int(d) for d in row.weekdays.split(",") if d),
        local_start=time.fromisoformat(row.local_start) if row.local_start else None,
        duration_minutes=row.duration_minutes,
        scope=Scope.model_validate(json.loads(row.scope)),
    )
    return Window(int(row.id), spec, row.author, row.created_at, row.cancelled_at)


def create(conn: Connection, spec: WindowSpec, author: str, now: datetime) -> Window:
    """Store a window (audited); returns it."""
    result = conn.execute(
        windows.insert().values(
            kind=spec.kind,
            reason=spec.reason,
            author=author,
            created_at=now,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
            recurrence=spec.recurrence,
            weekdays=",".join(str(day) for day in sorted(set(spec.weekdays))),
            local_start=spec.local_start.strftime("%H:%M") if spec.local_start else "",
            duration_minutes=spec.duration_minutes,
            scope=spec.scope.model_dump_json(),
        )
    )
    window_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, now, author, f"{spec.kind}_created", f"window:{window_id}", spec.reason)
    return get(conn, window_id)


def get(conn: Connection, window_id: int) -> Window:
    """The window ``window_id`` (raises WindowNotFound if there is none)."""
    if not 1 <= window_id <= 2**63 - 1:
        raise WindowNotFound(f"window {window_id} does not exist")
    row = conn.execute(select(windows).where(windows.c.id == window_id)).first()
    if row is None:
        raise WindowNotFound(f"window {window_id} does not exist")
    return _window(row)


def cancel(conn: Connection, window_id: int, actor: str, now: datetime) -> Window:
    """End a window now (audited); an already cancelled or past window is refused."""
    window = get(conn, window_id)
    if window.cancelled_at is not None:
        raise WindowConflict(f"window {window_id} was already cancelled")
    if window.spec.ends_at <= now:
        raise WindowConflict(f"window {window_id} is already over")
    conn.execute(
        update(windows)
        .where(windows.c.id == window_id)
        .values(cancelled_at=now, cancelled_by=actor[:100])
    )
    audit.record(conn, now, actor, f"{window.spec.kind}_cancelled", f"window:{window_id}", "")
    return get(conn, window_id)


def current(conn: Connection, now: datetime, *, include_past: bool = False) -> list[Window]:
    """Windows not over at ``now`` (and not cancelled), newest first; all with ``include_past``."""
    query = select(windows).order_by(windows.c.id.desc())
    if not include_past:
        query = query.where(windows.c.ends_at > now, windows.c.cancelled_at.is_(None))
    return [_window(row) for row in conn.execute(query)]


def covering(
    conn: Connection,
    at: datetime,
    problem_class: str,
    commune_code: str | None,
    device_id: str | None,
    system: str | None,
) -> Window | None:
    """A window covering this problem at ``at``, if any."""
    rows = conn.execute(
        select(windows).where(windows.c.starts_at <= at, windows.c.ends_at > at)
    ).all()
    for row in rows:
        window = _window(row)
        if window.covers(at, problem_class, commune_code, device_id, system):
            return window
    return None
