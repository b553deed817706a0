"""Simulated time that never outruns the simulation: a compressed clock held at a barrier.

Every component of a simulated run (agents, collector, alert sweeps) reads one
:class:`SimClock`. It runs ``speed`` times as fast as the real clock, but never past its
barrier: the driver holds the clock at the time of the step it is delivering and moves the
barrier on once the step's reports are delivered. A machine too slow for the speed asked for
therefore slows the simulation down; it never lets the collector's clock run ahead of reports
that are still on their way, which would look like silent agents and invent outages (issue 19).
When the clock reaches the barrier it stops there and re-bases, so that no jump follows when the
barrier moves on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.clock import Clock, SystemClock


@dataclass(frozen=True)
class ClockState:
    """What a :class:`SimClock` is at a re-base: enough for another process to read its time.

    ``real_origin`` is a reading of the real monotonic clock, which on Linux is one clock for the
    whole machine, so a process given this state reads the same simulated time (see
    :mod:`sim.shared_clock`).
    """

    start: datetime
    elapsed: float  # simulated seconds at the re-base
    real_origin: float  # the real monotonic clock at the re-base
    speed: float
    barrier: float  # simulated seconds the clock may not pass; NaN: no barrier

    def simulated(self, real: float) -> float:
        """Simulated seconds since the start when the real monotonic clock reads ``real``."""
        elapsed = self.elapsed + (real - self.real_origin) * self.speed
        if not math.isnan(self.barrier) and elapsed >= self.barrier:
            return max(self.elapsed, self.barrier)
        return elapsed


class SimClock:
    """Simulated time: starts at ``start`` and runs ``speed`` times as fast as ``real``."""

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        real: Clock | None = None,
        *,
        held: bool = False,
        on_change: Callable[[ClockState], None] | None = None,
    ) -> None:
        """``held``: stopped at ``start`` until the first :meth:`hold` lets it run (the demo
        holds it there while the history is written). ``on_change`` is told every new pace or
        barrier (the demo publishes them to its collector process)."""
        if speed <= 0:
            raise ValueError(f"speed must be greater than 0, not {speed!r}")
        self._real = real or SystemClock()
        self._start = start
        self._speed = speed
        self._origin = self._real.monotonic()
        self._elapsed = 0.0  # simulated seconds at the last re-base
        # Simulated seconds the clock may not pass (None: no barrier).
        self._barrier: float | None = 0.0 if held else None
        self._on_change = on_change
        self._changed()

    def _rebase(self) -> None:
        """Fold the time run so far into ``_elapsed`` (before a change of pace or barrier)."""
        self._elapsed = self.monotonic()
        self._origin = self._real.monotonic()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.state())

    def state(self) -> ClockState:
        """The pace and barrier from the last re-base on."""
        barrier = math.nan if self._barrier is None else self._barrier
        return ClockState(self._start, self._elapsed, self._origin, self._speed, barrier)

    def set_speed(self, speed: float) -> None:
        """Run ``speed`` times as fast as the real clock from now on; time so far is kept.

        The demo back-fills history at speed 1, so that the separate ingest processes see no
        clock skew; the live run is then compressed (faster still at night and at weekends).
        """
        if speed <= 0:
            raise ValueError(f"speed must be greater than 0, not {speed!r}")
        self._rebase()
        self._speed = speed
        self._changed()

    def hold(self, until: datetime | None) -> None:
        """Let the clock run up to ``until`` and no further (None: no barrier)."""
        self._rebase()  # time spent stopped at the old barrier is not made up afterwards
        self._barrier = None if until is None else (until - self._start).total_seconds()
        self._changed()

    @property
    def barrier(self) -> datetime | None:
        """The time the clock may not pass, if any."""
        if self._barrier is None:
            return None
        return self._start + timedelta(seconds=self._barrier)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """The simulated wall clock (UTC)."""
        return self._start + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        """Simulated seconds since the start."""
        real = self._real.monotonic()
        elapsed = self._elapsed + (real - self._origin) * self._speed
        if self._barrier is not None and elapsed >= self._barrier:
            # Stopped at the barrier: re-base there, so the clock resumes from it, not beyond.
            elapsed = max(self._elapsed, self._barrier)
            self._elapsed = elapsed
            self._origin = real
        return elapsed

    def real_seconds_until(self, when: datetime) -> float:
        """Real seconds to wait until the simulated clock reaches ``when`` (at this pace)."""
        return max(0.0, (when - self.now()).total_seconds() / self._speed)
