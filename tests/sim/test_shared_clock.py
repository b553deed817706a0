"""The demo's two processes read one simulated clock through a shared file."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sim import SimClock
from sim.shared_clock import ClockFile, SharedClock
from tests.fakes import FakeClock

START = datetime(2026, 3, 6, 8, 30, tzinfo=UTC)


def test_a_reader_follows_the_writer_through_changes_of_pace_and_barrier(tmp_path: Path) -> None:
    real = FakeClock()
    file = ClockFile(tmp_path / "clock.bin", create=True)
    clock = SimClock(START, 1.0, real=real, held=True, on_change=file.publish)
    reader = SharedClock(ClockFile(file.path), real=real)
    real.advance(30)
    assert reader.now() == clock.now() == START  # held while the history is written
    clock.set_speed(60.0)
    clock.hold(START + timedelta(minutes=1))
    real.advance(0.5)
    assert reader.now() == clock.now() == START + timedelta(seconds=30)
    real.advance(600)  # a slow machine: both stop at the barrier
    assert reader.now() == clock.now() == START + timedelta(minutes=1)
    clock.hold(START + timedelta(minutes=2))
    real.advance(0.25)
    assert reader.now() == clock.now() == START + timedelta(seconds=75)
    assert reader.monotonic() == clock.monotonic() == 75.0
    clock.hold(None)
    real.advance(2)
    assert reader.now() == clock.now() == START + timedelta(seconds=195)


def test_another_process_reads_the_same_simulated_time(tmp_path: Path) -> None:
    file = ClockFile(tmp_path / "clock.bin", create=True)
    clock = SimClock(START, 60.0, on_change=file.publish)  # the machine's real clock
    script = (
        "import sys; from pathlib import Path; from sim.shared_clock import ClockFile, SharedClock;"
        "print(SharedClock(ClockFile(Path(sys.argv[1]))).now().isoformat())"
    )
    before = clock.now()
    read = subprocess.run(
        [sys.executable, "-c", script, str(file.path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    after = clock.now()
    seen = datetime.fromisoformat(read.stdout.strip())
    # Running at ×60 from 2026-03-06, not at the real clock's today.
    assert before <= seen <= after
    assert after - START < timedelta(days=1)


def test_a_file_nobody_published_to_or_of_another_size_is_refused(tmp_path: Path) -> None:
    empty = ClockFile(tmp_path / "clock.bin", create=True)
    with pytest.raises(LookupError, match="no clock was published"):
        SharedClock(empty).now()
    other = tmp_path / "other.bin"
    other.write_bytes(b"\0" * 8)
    with pytest.raises(ValueError, match="is not a shared clock file"):
        ClockFile(other)
