"""The clock every part reads: wall time in UTC and a monotonic clock; tests inject a fake one.

It lives beside the wire schema because both programs use it: the agent stamps its reports with
it and every server module takes one, so that time-dependent logic is tested by advancing a
clock, never by sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall clock (UTC) and a monotonic clock; tests inject a fake one."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clocks."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds of a clock that never goes back (for durations and deadlines)."""
        return time.monotonic()
