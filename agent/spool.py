"""The agent's on-disk spool: every report is written here first and leaves only once acknowledged.

SQLite in WAL mode with synchronous=FULL: a report that ``append`` returned for survives a
power cut, and ``kill -9`` mid-send loses nothing (the send only deletes after the ack).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from agent.wire import DeviceReport, Report

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_AGE = timedelta(days=14)
# SQLite's page cache, in KiB (its default is 2 MiB per connection). Reads are sequential and the
# OS caches the file anyway; after an outage a full default cache would stay resident.
CACHE_KIB = 512


@dataclass(frozen=True)
class SpoolStats:
    """What ``commune-agent status`` shows about the spool."""

    depth: int
    bytes: int
    oldest_seq: int | None
    next_seq: int
    acked_seq: int
    dropped_total: int
    # When the oldest report still waiting was measured: how far behind the collector is.
    oldest_measured_at: datetime | None = None


class Spool:
    """A bounded, durable queue of reports numbered by a persistent sequence."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age: timedelta = DEFAULT_MAX_AGE,
        readonly: bool = False,
    ) -> None:
        """``readonly``: only for ``stats`` and ``pending`` (``commune-agent status`` opens the
        running service's spool this way, without needing write access or a write lock)."""
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        self._max_age = max_age
        if readonly:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError as exc:
            # Not a database any more (a disk fault, a file overwritten by hand). Refusing to
            # start would stop all measuring; keep the damaged file for a technician instead.
            aside = _move_aside(path)
            log.error(
                "spool file is damaged; moved aside, starting an empty spool",
                extra={"error": str(exc), "moved_to": str(aside)},
            )
            self._db = self._open(path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS reports (
                    seq INTEGER PRIMARY KEY,
                    measured_at TEXT NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT OR IGNORE INTO meta VALUES ('next_seq', 1), ('acked_seq', 0),
                    ('dropped_total', 0), ('bytes', 0);
                """
            )
            # Reads every meta row: a header that opens but whose pages are garbage fails here.
            db.execute("SELECT COUNT(*) FROM meta").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))

    def append(self, measured_at: datetime, devices: list[DeviceReport]) -> Report:
        """Number and store a new report durably; drops the oldest when over the bounds."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._meta("next_seq")
                report = Report(seq=seq, measured_at=measured_at, devices=devices)
                body = zlib.compress(report.model_dump_json().encode(), 6)
                self._db.execute(
                    "INSERT INTO reports VALUES (?, ?, ?)",
                    (seq, measured_at.astimezone(UTC).isoformat(), body),
                )
                self._set_meta("next_seq", seq + 1)
                self._set_meta("bytes", self._meta("bytes") + len(body))
                self._enforce_bounds(measured_at)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return report

    def _enforce_bounds(self, now: datetime) -> None:
        cutoff = (now - self._max_age).astimezone(UTC).isoformat()
        dropped = 0
        old = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM reports WHERE measured_at < ?",
            (cutoff,),
        ).fetchone()
        if old[0]:
            self._db.execute("DELETE FROM reports WHERE measured_at < ?", (cutoff,))
            self._set_meta("bytes", self._meta("bytes") - int(old[1]))
            dropped += int(old[0])
        total = self._meta("bytes")
        # Keep the newest report even if it alone exceeds the bound: dropping it would be silly.
        while total > self._max_bytes:
            row = self._db.execute(
                "SELECT seq, LENGTH(body) FROM reports ORDER BY seq LIMIT 1 OFFSET 0"
            ).fetchone()
            newest = self._db.execute("SELECT MAX(seq) FROM reports").fetchone()[0]
            if row is None or row[0] == newest:
                break
            self._db.execute("DELETE FROM reports WHERE seq = ?", (row[0],))
            total -= int(row[1])
            dropped += 1
        self._set_meta("bytes", total)
        if dropped:
            self._set_meta("dropped_total", self._meta("dropped_total") + dropped)

    def pending(self, limit: int) -> list[Report]:
        """The oldest ``limit`` reports not yet acknowledged, in sequence order.

        A report whose stored body no longer decodes is removed and counted as dropped: left in
        place it would block every later report forever.
        """
        return [report for _, _, report in self._pending(limit, keep=True) if report is not None]

    def pending_json(self, limit: int) -> list[tuple[int, bytes]]:
        """Like ``pending``, as (seq, the report's JSON): what the sender puts in a batch.

        Each body is still validated (a damaged one is dropped and counted), but one at a time:
        a batch of 200 reports never has 200 reports' objects alive together.
        """
        return [(seq, raw) for seq, raw, _ in self._pending(limit, keep=False)]

    def _pending(self, limit: int, *, keep: bool) -> list[tuple[int, bytes, Report | None]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body FROM reports ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
            found: list[tuple[int, bytes, Report | None]] = []
            damaged: list[tuple[int, int]] = []
            for seq, body in rows:
                try:
                    raw = zlib.decompress(body)
                    report = Report.model_validate_json(raw)
                except (zlib.error, ValidationError, TypeError) as exc:
                    log.error(
                        "spooled report is damaged; dropping it",
                        extra={"seq": seq, "error": str(exc)[:200]},
                    )
                    damaged.append((int(seq), len(body) if isinstance(body, bytes) else 0))
                    continue
                found.append((int(seq), raw, report if keep else None))
            if damaged:
                self._drop_damaged(damaged)
        return found

    def _drop_damaged(self, damaged: list[tuple[int, int]]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("DELETE FROM reports WHERE seq = ?", [(s,) for s, _ in damaged])
            self._set_meta("bytes", max(0, self._meta("bytes") - sum(n for _, n in damaged)))
            self._set_meta("dropped_total", self._meta("dropped_total") + len(damaged))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def acknowledge(self, acked_seq: int, stored: list[int]) -> int:
        """Delete what the collector has durably stored; returns how many left the spool."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM reports"
                ).fetchone()
                self._db.execute("DELETE FROM reports WHERE seq <= ?", (acked_seq,))
                self._db.executemany(
                    "DELETE FROM reports WHERE seq = ?", [(seq,) for seq in stored]
                )
                after = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM reports"
                ).fetchone()
                self._set_meta("bytes", int(after[1]))
                self._set_meta("acked_seq", max(self._meta("acked_seq"), acked_seq))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(before[0]) - int(after[0])

    def ensure_next_seq(self, minimum: int) -> bool:
        """Number the next report at least ``minimum``; True when that moved the sequence.

        A spool started afresh (moved aside as damaged, deleted by hand) would number from 1
        again, and the collector would take those reports for duplicates of acknowledged ones.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                moved = self._meta("next_seq") < minimum
                if moved:
                    self._set_meta("next_seq", minimum)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return moved

    def stats(self) -> SpoolStats:
        """Depth, size, sequences and drop count."""
        with self._lock:
            depth, oldest = self._db.execute("SELECT COUNT(*), MIN(seq) FROM reports").fetchone()
            oldest_at = None
            if oldest is not None:
                row = self._db.execute(
                    "SELECT measured_at FROM reports WHERE seq = ?", (oldest,)
                ).fetchone()
                oldest_at = datetime.fromisoformat(row[0])
            return SpoolStats(
                depth=int(depth),
                bytes=self._meta("bytes"),
                oldest_seq=oldest,
                next_seq=self._meta("next_seq"),
                acked_seq=self._meta("acked_seq"),
                dropped_total=self._meta("dropped_total"),
                oldest_measured_at=oldest_at,
            )


def _move_aside(path: Path) -> Path:
    """Rename a damaged spool (and its WAL and shared-memory files) to ``*.damaged-N``."""
    n = 1
    while path.with_name(f"{path.name}.damaged-{n}").exists():
        n += 1
    target = path.with_name(f"{path.name}.damaged-{n}")
    path.replace(target)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.replace(target.with_name(target.name + suffix))
    return target
