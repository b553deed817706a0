"""The demo's time: where its live run starts, how fast it goes, and what happens when.

- **Start.** By default the most recent Friday 15:30 in Vietnam: the history ends there and the
  live run shows an afternoon at work, the evening shutdown, a night, and a Saturday (closed,
  except where a commune opens on Saturday morning), in about ten minutes.
- **Pace.** ``speed`` simulated seconds per real second while anything can be seen (a centre of
  the fleet open, PCs switching on or off, a fault and its ticket's life), ``quiet_speed`` when
  nothing but site agents reports (nights, weekends): quiet hours take seconds, not hours. The
  clock never outruns the simulation anyway (:mod:`sim.clock`).
- **Calendar.** A scenario's Saturday communes are written into a copy of the working calendar,
  which the collector and the simulated PCs then share.
- **Timeline.** What will happen when, and whether it should raise a ticket, printed on start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources

import yaml

from agent.vntime import VN_TZ, local_date, to_local
from alerts.calendar import WorkingCalendar
from sim.clock import SimClock
from sim.driver import Driver, StepResult
from sim.faults import Fault, FaultType
from sim.scenario import ResolvedScenario
from sim.truth import ExpectedIncident

FRIDAY = 4
DEFAULT_START_TIME = time(15, 30)
# Around an opening or a closing the PCs switch on and off: watch it at working speed.
_AROUND_SESSIONS = timedelta(minutes=30)
# A fault is watched from a little before it until its ticket resolved (hold-down, notices).
_BEFORE_FAULT = timedelta(minutes=10)
_AFTER_FAULT = timedelta(minutes=20)


def default_start(now: datetime) -> datetime:
    """The most recent Friday 15:30 in Vietnam (today's once it is past), in UTC."""
    local = to_local(now)
    back = (local.weekday() - FRIDAY) % 7
    friday = local.date() - timedelta(days=back)
    start = datetime.combine(friday, DEFAULT_START_TIME, VN_TZ)
    if start > now:
        start -= timedelta(days=7)
    return start.astimezone(UTC)


def parse_start(text: str | None, now: datetime) -> datetime:
    """The live run's start from ``--start``: None (the default), ``now``, or an ISO time (a
    time without an offset is Vietnam time); UTC, whole minutes. ValueError names what is
    accepted."""
    if text is None:
        start = default_start(now)
    elif text.strip().lower() == "now":
        start = now
    else:
        try:
            start = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"--start {text!r} is not 'now' nor a time such as '2026-03-06T15:30' "
                "(Vietnam time) or '2026-03-06T08:30+00:00'"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=VN_TZ)
    start = start.astimezone(UTC).replace(second=0, microsecond=0)
    if start > now:
        raise ValueError(f"--start {text!r} is in the future; the history ends at the start")
    return start


def calendar_text(saturday_communes: Sequence[str], base: str | None = None) -> str:
    """The working calendar (``base``, default the bundled one) with these communes also
    opening on Saturday morning: the file the demo's collector and its PCs share."""
    if base is None:
        base = resources.files("alerts").joinpath("calendar.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(base) or {}
    communes = dict(data.get("communes") or {})
    for code in saturday_communes:
        communes[code] = {**(communes.get(code) or {}), "saturday_morning": True}
    data["communes"] = communes
    header = (
        "# The demo's working calendar: the bundled one, with the scenario's Saturday communes.\n"
    )
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@dataclass(frozen=True)
class Pace:
    """How fast the demo runs at each simulated instant."""

    calendar: WorkingCalendar
    communes: tuple[str, ...]
    faults: tuple[Fault, ...]
    speed: float
    quiet_speed: float

    def busy(self, at: datetime) -> bool:
        """Whether something worth watching happens around ``at``."""
        for fault in self.faults:
            if fault.start - _BEFORE_FAULT <= at < fault.end + _AFTER_FAULT:
                return True
        lo, hi = at - _AROUND_SESSIONS, at + _AROUND_SESSIONS
        return any(
            next(self.calendar.sessions(code, lo, hi), None) is not None for code in self.communes
        )

    def speed_at(self, at: datetime) -> float:
        """Simulated seconds per real second at ``at``."""
        return self.speed if self.busy(at) else max(self.speed, self.quiet_speed)

    def changes(
        self, start: datetime, end: datetime, step: timedelta
    ) -> list[tuple[datetime, float]]:
        """When the pace changes between ``start`` and ``end`` (checked every ``step``)."""
        out: list[tuple[datetime, float]] = []
        at = start
        while at < end:
            speed = self.speed_at(at)
            if not out or out[-1][1] != speed:
                out.append((at, speed))
            at += step
        return out


def _when(at: datetime) -> str:
    local = to_local(at)
    return f"{_WEEKDAY[local.weekday()]} {local:%H:%M}"


_WEEKDAY = ("T2/Mon", "T3/Tue", "T4/Wed", "T5/Thu", "T6/Fri", "T7/Sat", "CN/Sun")


def _fault_lines(fault: Fault, truth: Sequence[ExpectedIncident]) -> Iterable[tuple[datetime, str]]:
    where = fault.device_id or fault.commune_code or "toàn tỉnh / province"
    system = f" {fault.system}" if fault.system else ""
    head = f"{fault.type.value}{system} {where} → {to_local(fault.end):%H:%M} ({fault.id})"
    mine = [t for t in truth if t.fault_id == fault.id]
    if mine:
        tickets = ", ".join(
            f"{t.problem_class} {to_local(t.start):%H:%M}–{to_local(t.end):%H:%M}" for t in mine
        )
        yield fault.start, f"{head}: ticket {tickets}"
    elif fault.type is FaultType.DECLARED_MAINTENANCE:
        yield fault.start, f"{head}: no ticket (declared maintenance window)"
    else:
        yield fault.start, f"{head}: no ticket (outside opening hours)"


def _day_lines(
    calendar: WorkingCalendar, communes: Sequence[str], day: date
) -> Iterable[tuple[datetime, str]]:
    plans = {code: calendar.day(code, day) for code in communes}
    open_codes = [code for code, plan in plans.items() if plan.open]
    midnight = datetime.combine(day, time(0, 0), VN_TZ)
    if not open_codes:
        reason = next(iter(plans.values())).reason or "closed"
        yield midnight, f"{day:%d/%m}: centres closed ({reason}); only site agents report"
        return
    first = min(plans[code].sessions[0][0] for code in open_codes)
    last = max(plans[code].sessions[-1][1] for code in open_codes)
    shown = ", ".join(open_codes) if len(open_codes) < len(communes) else "every commune"
    yield (
        first - timedelta(minutes=20),
        f"opening ({shown}): counter PCs switched on ±20 min around {to_local(first):%H:%M}",
    )
    yield (
        last - timedelta(minutes=20),
        f"closing: PCs shut down ±20 min around {to_local(last):%H:%M} (most say goodbye, "
        "some cut at the wall, a few left on): no ticket",
    )


def timeline(
    resolved: ResolvedScenario,
    calendar: WorkingCalendar,
    communes: Sequence[str],
    start: datetime,
    pace: Pace,
    end: datetime | None = None,
) -> list[str]:
    """What happens when from ``start`` (to ``end``: default the last fault's end, and at
    least a day), one line each, in Vietnam time."""
    if end is None:
        last = max((fault.end for fault in resolved.faults), default=start)
        end = max(last + timedelta(hours=1), start + timedelta(days=1))
    events: list[tuple[datetime, str]] = []
    for spec in resolved.windows:
        systems = ", ".join(spec.scope.systems) or "every system"
        events.append(
            (
                start,
                f"maintenance window declared: {systems} "
                f"{_when(spec.starts_at)}–{to_local(spec.ends_at):%H:%M}",
            )
        )
    day = local_date(start)
    while day <= local_date(end):
        events.extend(_day_lines(calendar, communes, day))
        day += timedelta(days=1)
    for fault in resolved.faults:
        events.extend(_fault_lines(fault, resolved.ground_truth))
    for at, speed in pace.changes(start, end, timedelta(minutes=5)):
        events.append((at, f"pace ×{speed:g}"))
    events = [(at, text) for at, text in events if start <= at < end or at == start]
    events.sort(key=lambda item: item[0])
    return [f"{_when(at)}  {text}" for at, text in events]


class Pacer:
    """After each delivered step of a live run: the silence sweep, on simulated time (the
    collector's timers run on real time, which a compressed clock would outpace), then the
    pace of the next step."""

    def __init__(
        self,
        pace: Pace,
        clock: SimClock,
        interval_seconds: float,
        sweep: Callable[[], None] | None = None,
    ) -> None:
        self._pace = pace
        self._clock = clock
        self._interval = timedelta(seconds=interval_seconds)
        self._sweep = sweep

    async def __call__(self, result: StepResult) -> None:
        if self._sweep is not None:
            await asyncio.to_thread(self._sweep)
        self._clock.set_speed(self._pace.speed_at(result.at + self._interval))


class StatusLine:
    """One line every ten steps, and whenever the set of active faults changes."""

    def __init__(self, say: Callable[[str], object], driver: Driver, faults: Sequence[Fault]):
        self._say = say
        self._driver = driver
        self._faults = tuple(faults)
        self._active: frozenset[str] = frozenset()
        self._steps = 0

    def __call__(self, result: StepResult) -> None:
        self._steps += 1
        active = frozenset(f.id for f in self._faults if f.active(result.at))
        if active == self._active and self._steps % 10 != 1:
            return
        started, ended = sorted(active - self._active), sorted(self._active - active)
        self._active = active
        spooled = sum(
            runtime.spool.stats().depth for runtime in self._driver.runtimes if runtime.spool
        )
        change = "".join(f"  +{name}" for name in started) + "".join(f"  -{name}" for name in ended)
        self._say(
            f"{_when(result.at)}  {result.reports} reports, {result.sent} sent, "
            f"{spooled} spooled{change}"
        )
