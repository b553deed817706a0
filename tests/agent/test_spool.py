"""The on-disk spool: durable across kill -9, survives damage, bounded with counted drops."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from agent.spool import Spool
from agent.wire import DeviceKind, DeviceReport, Sample
from tests.fakes import FakeClock


def _devices(value: float, padding: int = 0) -> list[DeviceReport]:
    # ``padding``: distinct labels make a body that zlib cannot shrink to nothing.
    samples = [Sample(name="cpu_percent", value=value)]
    samples += [
        Sample(name="pad", value=float(i), labels={"i": f"{i}-{os.urandom(8).hex()}"})
        for i in range(padding)
    ]
    return [DeviceReport(device_id="pc-1", kind=DeviceKind.PC, samples=samples)]


def test_reports_survive_reopen_in_order_with_their_times(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = Spool(tmp_path / "spool.db")
    times = []
    for i in range(5):
        times.append(clock.now())
        spool.append(clock.now(), _devices(i))
        clock.advance(15)
    spool.close()

    reopened = Spool(tmp_path / "spool.db")
    pending = reopened.pending(100)
    assert [r.seq for r in pending] == [1, 2, 3, 4, 5]
    assert [r.measured_at for r in pending] == times
    assert [r.devices[0].samples[0].value for r in pending] == [0, 1, 2, 3, 4]
    assert reopened.stats().next_seq == 6
    reopened.close()


def test_acknowledge_removes_only_what_the_ack_covers(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = Spool(tmp_path / "spool.db")
    for i in range(6):
        spool.append(clock.now(), _devices(i))
    # Contiguous up to 2, and 5 stored out of order: 3, 4 and 6 stay.
    assert spool.acknowledge(2, [5]) == 3
    stats = spool.stats()
    assert [r.seq for r in spool.pending(100)] == [3, 4, 6]
    assert stats.acked_seq == 2
    assert stats.depth == 3
    assert stats.oldest_seq == 3
    # A late, lower ack never moves acked_seq back.
    spool.acknowledge(1, [])
    assert spool.stats().acked_seq == 2
    spool.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from agent.spool import Spool
    from agent.wire import DeviceKind, DeviceReport, Sample

    spool = Spool(Path(sys.argv[1]))
    i = 0
    while True:  # killed by the test
        i += 1
        report = spool.append(
            datetime.now(UTC),
            [DeviceReport(device_id="pc-1", kind=DeviceKind.PC,
                          samples=[Sample(name="n", value=float(i))])],
        )
        print(report.seq, flush=True)
    """
)


def test_kill_9_mid_write_loses_no_returned_report(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    confirmed: list[int] = []
    try:
        # Bounded: kill once 200 appends have returned (each one fsynced).
        for line in proc.stdout:
            confirmed.append(int(line))
            if len(confirmed) >= 200:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
    assert len(confirmed) == 200

    spool = Spool(path)
    seqs = [r.seq for r in spool.pending(10_000)]
    # Every append that returned is there; any later one that committed before the kill too,
    # and nothing half-written: contiguous from 1.
    assert seqs[: len(confirmed)] == confirmed
    assert seqs == list(range(1, len(seqs) + 1))
    stats = spool.stats()
    assert stats.depth == len(seqs)
    assert stats.next_seq == len(seqs) + 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    new = spool.append(FakeClock().now(), _devices(0))
    assert new.seq == len(seqs) + 1
    spool.close()


def test_torn_wal_tail_keeps_every_complete_report(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    clock = FakeClock()
    for i in range(10):
        spool.append(clock.now(), _devices(i))
    # Copy the files as a power cut would leave them: the WAL is not checkpointed yet.
    wal = path.with_name("spool.db-wal")
    crash = tmp_path / "crash"
    crash.mkdir()
    (crash / "spool.db").write_bytes(path.read_bytes())
    data = wal.read_bytes()
    spool.close()
    # A torn last frame: the tail of the WAL is garbage.
    torn = data[:-100] + b"\xff" * 100
    (crash / "spool.db-wal").write_bytes(torn)

    recovered = Spool(crash / "spool.db")
    seqs = [r.seq for r in recovered.pending(100)]
    # SQLite's WAL checksums discard the torn transaction and nothing before it.
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) >= 9
    assert recovered.stats().next_seq == len(seqs) + 1
    recovered.close()


def test_damaged_report_body_is_dropped_and_counted_not_blocking(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    clock = FakeClock()
    for i in range(3):
        spool.append(clock.now(), _devices(i))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE reports SET body = ? WHERE seq = 2", (b"not zlib at all",))
    assert [r.seq for r in spool.pending(100)] == [1, 3]
    stats = spool.stats()
    assert stats.dropped_total == 1
    assert stats.depth == 2
    assert [r.seq for r in spool.pending(100)] == [1, 3]
    spool.close()


def test_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    path.write_bytes(b"this is not an SQLite database, it was overwritten" * 200)
    spool = Spool(path)
    report = spool.append(FakeClock().now(), _devices(1))
    assert report.seq == 1
    assert (tmp_path / "spool.db.damaged-1").read_bytes().startswith(b"this is not")
    # The next sequence can be lifted above what the collector already acknowledged.
    assert spool.ensure_next_seq(41) is True
    assert spool.append(FakeClock().now(), _devices(2)).seq == 41
    assert spool.ensure_next_seq(10) is False
    spool.close()


def test_size_cap_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = Spool(tmp_path / "spool.db", max_bytes=5_000)
    for i in range(40):
        spool.append(clock.now(), _devices(i, padding=20))
        clock.advance(15)
    stats = spool.stats()
    pending = spool.pending(1_000)
    seqs = [r.seq for r in pending]
    assert stats.bytes <= 5_000
    assert stats.dropped_total > 0
    # What is left is the newest, contiguous run; the drop count covers exactly the rest.
    assert seqs == list(range(41 - len(seqs), 41))
    assert stats.dropped_total == 40 - len(seqs)
    assert stats.oldest_seq == seqs[0]
    # The byte count is the real size of what is stored.
    with sqlite3.connect(tmp_path / "spool.db") as db:
        assert db.execute("SELECT SUM(LENGTH(body)) FROM reports").fetchone()[0] == stats.bytes
    spool.close()


def test_a_single_report_larger_than_the_cap_is_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_bytes=10)
    spool.append(FakeClock().now(), _devices(1, padding=5))
    spool.append(FakeClock().now(), _devices(2, padding=5))
    assert [r.seq for r in spool.pending(10)] == [2]
    assert spool.stats().dropped_total == 1
    spool.close()


def test_age_limit_drops_reports_older_than_max_age(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = Spool(tmp_path / "spool.db", max_age=timedelta(days=14))
    for _ in range(3):
        spool.append(clock.now(), _devices(1))
        clock.advance(timedelta(days=6).total_seconds())
    # Now 18 days after the first: it is dropped when the next report arrives.
    spool.append(clock.now(), _devices(2))
    assert [r.seq for r in spool.pending(10)] == [2, 3, 4]
    assert spool.stats().dropped_total == 1
    spool.close()


def test_readonly_spool_reads_stats_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    spool.append(FakeClock().now(), _devices(1))
    reader = Spool(path, readonly=True)
    assert reader.stats().depth == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.append(FakeClock().now(), _devices(2))
    reader.close()
    spool.close()
