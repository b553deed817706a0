"""One simulated clock read by two processes: the demo's fleet and its collector (issue 22).

The demo runs its simulated fleet and its collector in separate processes, so that each has an
interpreter lock of its own: in one process the fleet's report generation took half the lock
and a scrape of ``/metrics`` waited for it. Both must still read one compressed clock held at
each step's barrier (:class:`sim.clock.SimClock`). The fleet's process owns the clock and
publishes each re-base (:class:`~sim.clock.ClockState`) into a small memory-mapped file; the
collector's process reads it with :class:`SharedClock`, computing the time from the same real
monotonic clock (one clock for the whole machine on Linux).

A re-base is a few numbers written at once by one writer; a reader must never see half of one.
The file is a sequence lock: the writer makes the counter odd, writes, makes it even again; a
reader retries while the counter is odd or has changed under it.
"""

from __future__ import annotations

import mmap
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.clock import Clock, SystemClock
from sim.clock import ClockState

# Sequence counter, then start (epoch seconds), elapsed, real origin, speed, barrier.
_LAYOUT = struct.Struct("<Q5d")
_SEQUENCE = struct.Struct("<Q")
_RETRIES = 10_000


class ClockFile:
    """The memory-mapped file one writer publishes :class:`ClockState` into."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        if create:
            path.write_bytes(bytes(_LAYOUT.size))
        with path.open("r+b") as handle:
            if handle.seek(0, 2) < _LAYOUT.size:
                raise ValueError(f"{path} is not a shared clock file ({_LAYOUT.size} bytes)")
            self._map = mmap.mmap(handle.fileno(), _LAYOUT.size)

    def publish(self, state: ClockState) -> None:
        """Write ``state`` (from the one writing process only)."""
        (sequence,) = _SEQUENCE.unpack_from(self._map, 0)
        _SEQUENCE.pack_into(self._map, 0, sequence + 1)  # odd: a write is under way
        _LAYOUT.pack_into(
            self._map,
            0,
            sequence + 1,
            state.start.timestamp(),
            state.elapsed,
            state.real_origin,
            state.speed,
            state.barrier,
        )
        _SEQUENCE.pack_into(self._map, 0, sequence + 2)

    def read(self) -> ClockState:
        """The last state published; raises if nothing was published yet."""
        for _ in range(_RETRIES):
            before, start, elapsed, origin, speed, barrier = _LAYOUT.unpack_from(self._map, 0)
            if before % 2 == 0 and _SEQUENCE.unpack_from(self._map, 0)[0] == before:
                if before == 0:
                    raise LookupError(f"{self.path}: no clock was published yet")
                moment = datetime.fromtimestamp(start, UTC)
                return ClockState(moment, elapsed, origin, speed, barrier)
        raise TimeoutError(f"{self.path}: the clock kept changing while it was read")

    def close(self) -> None:
        """Unmap the file (it stays on disk)."""
        self._map.close()


class SharedClock:
    """The :class:`~agent.clock.Clock` of a process that reads another process's SimClock."""

    def __init__(self, file: ClockFile, real: Clock | None = None) -> None:
        self._file = file
        self._real = real or SystemClock()

    def monotonic(self) -> float:
        """Simulated seconds since the simulated start."""
        return self._file.read().simulated(self._real.monotonic())

    def now(self) -> datetime:
        """The simulated wall clock (UTC)."""
        state = self._file.read()
        return state.start + timedelta(seconds=state.simulated(self._real.monotonic()))
