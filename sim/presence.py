"""When each counter PC is switched on and off: the working calendar as clerks live it.

A counter PC is switched on around its commune's first session of an open day (± ``spread``)
and off around closing. Most are shut down cleanly (the agent says goodbye), some are cut at
the wall after hours (no goodbye: the switch of the power strip), a few are left on overnight
and keep reporting until the next open day's closing; nothing is switched on on a closed day
(weekend, holiday, a commune's own closure), and Saturday morning only where the calendar opens
it. Site agents run in the network rack, always on: they are not modelled here.

Every draw is seeded by (seed, PC, day), and each day's plan depends only on that day and the
open day before it, so the same question gets the same answer in any order: a back-fill, a live
run and a test that asks about one instant agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from agent.vntime import local_date
from alerts.calendar import WorkingCalendar

# How far the calendar is searched for the open day before or after another (Tết closes the
# centres for about nine days).
_SEARCH_DAYS = 20


class Ending(StrEnum):
    """How a PC's day ends."""

    CLEAN = "clean"  # shut down from Windows: the agent says goodbye
    CUT = "cut"  # switched off at the wall after hours: no goodbye
    LEFT_ON = "left_on"  # left on overnight: switched off at the next open day's closing


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One PC's open day: when the clerk switches it on, and how and when it goes off."""

    day: date
    on_at: datetime
    off_at: datetime
    ending: Ending


@dataclass(frozen=True, slots=True)
class PowerSpan:
    """One stretch of a PC being on, from a switch-on to a switch-off."""

    on_at: datetime
    off_at: datetime
    # Whether it ends with a goodbye (a clean shutdown).
    clean_end: bool
    # How the span before it ended: "clean", "unclean" or "first_start" (none known).
    previous_stop: str

    def holds(self, at: datetime) -> bool:
        """Whether the PC is on at ``at``."""
        return self.on_at <= at < self.off_at


@dataclass(frozen=True, slots=True)
class Shares:
    """How a PC's day ends, as shares of open days (the rest is left on overnight)."""

    clean: float = 0.8
    cut: float = 0.13


class Presence:
    """When each counter PC is on, by the working calendar; deterministic per seed."""

    def __init__(
        self,
        calendar: WorkingCalendar,
        seed: int,
        *,
        spread: timedelta = timedelta(minutes=20),
        shares: Shares = Shares(),
    ) -> None:
        self.calendar = calendar
        self.seed = seed
        self.spread = spread
        self.shares = shares
        self._plans: dict[tuple[str, date], DayPlan | None] = {}
        # The last span found per PC: most questions are about the same stretch again.
        self._last: dict[str, PowerSpan] = {}

    def plan(self, key: str, commune: str, day: date) -> DayPlan | None:
        """The PC's plan for ``day`` as drawn (None: the centre is closed that day)."""
        cached = self._plans.get((key, day), False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        sessions = self.calendar.day(commune, day).sessions
        plan: DayPlan | None = None
        if sessions:
            rng = random.Random(f"{self.seed}:{key}:{day.isoformat()}")  # noqa: S311
            spread = self.spread.total_seconds()
            on_at = sessions[0][0] + timedelta(seconds=rng.uniform(-spread, spread))
            close = sessions[-1][1]
            roll = rng.random()
            if roll < self.shares.clean:
                ending = Ending.CLEAN
                off_at = close + timedelta(seconds=rng.uniform(-spread, spread))
            elif roll < self.shares.clean + self.shares.cut:
                # Cut at the wall on the way out: after the session, never inside it.
                ending = Ending.CUT
                off_at = close + timedelta(seconds=rng.uniform(60.0, spread))
            else:
                ending = Ending.LEFT_ON
                off_at = close + timedelta(seconds=rng.uniform(-spread, spread))
            plan = DayPlan(day, on_at, off_at, ending)
        self._plans[(key, day)] = plan
        return plan

    def _open_day(self, key: str, commune: str, day: date, step: int) -> DayPlan | None:
        """The plan of the nearest open day before (step -1) or after (step 1) ``day``."""
        for offset in range(1, _SEARCH_DAYS + 1):
            found = self.plan(key, commune, day + timedelta(days=step * offset))
            if found is not None:
                return found
        return None

    def ending(self, key: str, commune: str, plan: DayPlan) -> Ending:
        """How ``plan``'s day really ends: never left on two nights in a row (the second
        night's clerk switches it off), so that a day depends only on the open day before."""
        if plan.ending is not Ending.LEFT_ON:
            return plan.ending
        before = self._open_day(key, commune, plan.day, -1)
        if before is not None and before.ending is Ending.LEFT_ON:
            return Ending.CLEAN
        return Ending.LEFT_ON

    def _switched_on(self, key: str, commune: str, plan: DayPlan) -> bool:
        """Whether the clerk switches the PC on that day (it is not still on from the last)."""
        before = self._open_day(key, commune, plan.day, -1)
        return before is None or self.ending(key, commune, before) is not Ending.LEFT_ON

    def _span(self, key: str, commune: str, plan: DayPlan) -> PowerSpan:
        """The stretch that starts with ``plan``'s switch-on."""
        before = self._open_day(key, commune, plan.day, -1)
        if before is None:
            previous = "first_start"
        else:
            previous = "clean" if self.ending(key, commune, before) is Ending.CLEAN else "unclean"
        last = plan
        if self.ending(key, commune, plan) is Ending.LEFT_ON:
            last = self._open_day(key, commune, plan.day, 1) or plan
        # A night left on ends at the next open day's closing, never left on again (ending()).
        end = self.ending(key, commune, last)
        return PowerSpan(plan.on_at, last.off_at, end is Ending.CLEAN, previous)

    def span(self, key: str, commune: str, at: datetime) -> PowerSpan | None:
        """The stretch of the PC being on at ``at``; None when it is off."""
        last = self._last.get(key)
        if last is not None and last.holds(at):
            return last
        day = local_date(at)
        for back in range(_SEARCH_DAYS + 1):
            plan = self.plan(key, commune, day - timedelta(days=back))
            if plan is None or plan.on_at > at:
                continue
            if not self._switched_on(key, commune, plan):
                continue  # still on from the open day before: that day's span holds it
            found = self._span(key, commune, plan)
            if not found.holds(at):
                return None
            self._last[key] = found
            return found
        return None
