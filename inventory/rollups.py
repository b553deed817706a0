"""Daily rollups of what each device measured, for the upgrade priority (issue 22).

The journal processor feeds :class:`RollupConsumer` every report inside its transaction (as it
feeds the alert engine), and the consumer upserts one row per (device, Vietnam calendar day) of
``inventory_rollups``:

* CPU and memory: how many samples fell on each whole percent (a histogram of at most 101
  counts), so that the p95 over any span of days is exact to the percent whatever the number of
  reports, which a sample of the journal is not;
* disk: the fullest volume, and SMART: how many disks warn (``smart_healthy`` below 1, or a bad
  sector counter above 0), each from the day's newest report carrying them;
* failures: the distinct types of the day's *critical* events (a printer jam re-raised at every
  poll is one failure a day), as ``inventory.signals`` counts them.

These are the signals ``inventory.signals`` used to scan from the journal on every request; the
journal keeps a week, the rollups a year (:data:`RETENTION_DAYS`, pruned by a timer). The plan
reads them in ``inventory.rollup_reader``; ``inventory.rollup_rebuild`` fills them after an
upgrade from what the journal still holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from agent.clock import Clock
from agent.vntime import local_date
from collector.db import upsert
from collector.processor import StoredReport
from inventory.schema import inventory_rollups
from inventory.signals import FAILURE_SEVERITIES, SMART_BAD_COUNTERS
from inventory.timers import periodic

log = logging.getLogger(__name__)

# A year of days for the 12-month failure count, plus the partly covered first day.
RETENTION_DAYS = 366
PRUNE_SECONDS = 3600.0
BUCKETS = 101  # whole percents 0..100
# Nothing is unbounded (DESIGN.md invariant 7): a device sending many distinct critical event
# types in one day keeps this many of them; the failures term is full at 6 anyway.
MAX_FAILURE_TYPES = 50
_COUNT_MAX = 2**32 - 1
# A histogram on disk: (bucket, count) pairs, little-endian uint8 + uint32, only non-zero
# buckets. numpy reads the same layout (inventory.rollup_reader) without a Python loop.
_PAIR = struct.Struct("<BI")
WATCHED = frozenset(
    {"cpu_percent", "memory_used_percent", "disk_used_percent", "smart_healthy"}
    | SMART_BAD_COUNTERS
)
PRIMARY_KEY = ("device_id", "day", "commune_code")
_VALUES = (
    "reports",
    "cpu_hist",
    "memory_hist",
    "disk_used_percent",
    "disk_epoch",
    "smart_warnings",
    "smart_epoch",
    "failures",
    "failure_types",
)

RollupKey = tuple[str, str, date]  # (commune code, device id, Vietnam day)


def bucket_of(value: float) -> int:
    """The whole percent a sample counts on: rounded half up, clamped to 0..100."""
    return min(BUCKETS - 1, max(0, int(value + 0.5)))


def encode_histogram(counts: Mapping[int, int]) -> bytes | None:
    """Counts per bucket as stored (None when empty)."""
    if not counts:
        return None
    return b"".join(_PAIR.pack(b, min(c, _COUNT_MAX)) for b, c in sorted(counts.items()) if c)


def decode_histogram(blob: bytes | None) -> dict[int, int]:
    """A stored histogram back as counts per bucket."""
    if not blob:
        return {}
    return dict(_PAIR.iter_unpack(bytes(blob)))


def _add(into: dict[int, int], counts: Mapping[int, int]) -> None:
    for bucket, count in counts.items():
        into[bucket] = into.get(bucket, 0) + count


@dataclass
class DayRollup:
    """What one device measured on one day, as the consumer accumulates it."""

    reports: int = 0
    cpu: dict[int, int] = field(default_factory=dict)
    memory: dict[int, int] = field(default_factory=dict)
    disk: float | None = None
    disk_epoch: float | None = None
    smart_warnings: int | None = None
    smart_epoch: float | None = None
    failure_types: set[str] = field(default_factory=set)

    def add(self, epoch: float, samples: Iterable[dict[str, Any]], critical: Iterable[str]) -> None:
        """One report's watched samples and critical event types, measured at ``epoch``."""
        self.reports += 1
        disk: float | None = None
        smart: set[str] | None = None
        for sample in samples:
            name, value = sample["name"], float(sample["value"])
            if name == "memory_used_percent":
                bucket = bucket_of(value)
                self.memory[bucket] = self.memory.get(bucket, 0) + 1
            elif name == "cpu_percent":
                bucket = bucket_of(value)
                self.cpu[bucket] = self.cpu.get(bucket, 0) + 1
            elif name == "disk_used_percent":
                disk = value if disk is None else max(disk, value)
            else:  # SMART: the disks warning in this report
                smart = smart if smart is not None else set()
                bad = value < 1 if name == "smart_healthy" else value > 0
                if bad:
                    smart.add(str((sample.get("labels") or {}).get("disk", "")))
        if disk is not None:
            self._newer_disk(disk, epoch)
        if smart is not None:
            self._newer_smart(len(smart), epoch)
        for kind in critical:
            if len(self.failure_types) >= MAX_FAILURE_TYPES:
                break
            self.failure_types.add(kind)

    def _newer_disk(self, disk: float | None, epoch: float | None) -> None:
        newer = epoch is not None and (self.disk_epoch is None or epoch >= self.disk_epoch)
        if disk is not None and newer:
            self.disk, self.disk_epoch = disk, epoch

    def _newer_smart(self, warnings: int | None, epoch: float | None) -> None:
        newer = epoch is not None and (self.smart_epoch is None or epoch >= self.smart_epoch)
        if warnings is not None and newer:
            self.smart_warnings, self.smart_epoch = warnings, epoch

    def merge(self, other: DayRollup) -> None:
        """Add ``other`` (later reports of the same device and day) to this one."""
        self.reports += other.reports
        _add(self.cpu, other.cpu)
        _add(self.memory, other.memory)
        self._newer_disk(other.disk, other.disk_epoch)
        self._newer_smart(other.smart_warnings, other.smart_epoch)
        for kind in sorted(other.failure_types):
            if len(self.failure_types) >= MAX_FAILURE_TYPES:
                break
            self.failure_types.add(kind)

    def row(self, key: RollupKey) -> dict[str, Any]:
        """The ``inventory_rollups`` row of this rollup."""
        commune_code, device_id, day = key
        return {
            "device_id": device_id,
            "day": day,
            "commune_code": commune_code,
            "reports": self.reports,
            "cpu_hist": encode_histogram(self.cpu),
            "memory_hist": encode_histogram(self.memory),
            "disk_used_percent": self.disk,
            "disk_epoch": self.disk_epoch,
            "smart_warnings": self.smart_warnings,
            "smart_epoch": self.smart_epoch,
            "failures": len(self.failure_types),
            "failure_types": json.dumps(sorted(self.failure_types), ensure_ascii=False),
        }

    @classmethod
    def from_row(cls, row: Any) -> DayRollup:
        """A stored row back as a rollup."""
        return cls(
            reports=row.reports,
            cpu=decode_histogram(row.cpu_hist),
            memory=decode_histogram(row.memory_hist),
            disk=row.disk_used_percent,
            disk_epoch=row.disk_epoch,
            smart_warnings=row.smart_warnings,
            smart_epoch=row.smart_epoch,
            failure_types=set(json.loads(row.failure_types or "[]")),
        )


def accumulate(
    reports: Iterable[StoredReport], into: dict[RollupKey, DayRollup] | None = None
) -> dict[RollupKey, DayRollup]:
    """The rollups of some processed reports, per (commune, device, day), added to ``into``."""
    acc: dict[RollupKey, DayRollup] = {} if into is None else into
    # Runs for every report of the province inside the processor's transaction: plain dict work
    # on the decoded JSON, and a device without watched samples or critical events costs one
    # pass over its sample names.
    for item in reports:
        at = item.measured_at
        epoch = at.timestamp()
        day = local_date(at)
        code = item.commune_code
        for device in item.data["devices"]:
            hits = [s for s in device["samples"] if s["name"] in WATCHED]
            events = device.get("events")
            critical = (
                [e["type"] for e in events if e.get("severity", "info") in FAILURE_SEVERITIES]
                if events
                else []
            )
            if not hits and not critical:
                continue
            key = (code, device["device_id"], day)
            rollup = acc.get(key)
            if rollup is None:
                rollup = acc[key] = DayRollup()
            rollup.add(epoch, hits, critical)
    return acc


def stored_rollups(conn: Connection, keys: Iterable[RollupKey]) -> dict[RollupKey, DayRollup]:
    """The stored rollups of ``keys`` (those that exist)."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = conn.execute(
        select(inventory_rollups).where(
            inventory_rollups.c.device_id.in_({device_id for _, device_id, _ in wanted}),
            inventory_rollups.c.day.in_({day for _, _, day in wanted}),
        )
    )
    out: dict[RollupKey, DayRollup] = {}
    for row in rows:
        key = (row.commune_code, row.device_id, row.day)
        if key in wanted:
            out[key] = DayRollup.from_row(row)
    return out


def write_rollups(conn: Connection, rollups: Mapping[RollupKey, DayRollup]) -> None:
    """Insert or overwrite these rows."""
    rows = [rollup.row(key) for key, rollup in rollups.items()]
    # Bounded statements: a rebuild writes tens of thousands of rows.
    for start in range(0, len(rows), 2000):
        upsert(
            conn, inventory_rollups, rows[start : start + 2000], keys=PRIMARY_KEY, update=_VALUES
        )


def add_rollups(conn: Connection, rollups: Mapping[RollupKey, DayRollup]) -> None:
    """Add these rollups to the stored ones (read, merge, write: one processor per store)."""
    stored = stored_rollups(conn, rollups.keys())
    merged: dict[RollupKey, DayRollup] = {}
    for key, rollup in rollups.items():
        before = stored.get(key)
        if before is None:
            merged[key] = rollup
        else:
            before.merge(rollup)
            merged[key] = before
    write_rollups(conn, merged)


class RollupConsumer:
    """Keeps the daily rollups: a journal consumer (``collector.processor.JournalConsumer``)
    that adds every processed report to them inside the processor's transaction, so a report
    is rolled up exactly once, with the cursor that consumed it; and the timer that prunes them
    (:meth:`pruning`, run where the journal is processed, as the journal's own pruning is)."""

    def __init__(self, engine: Engine, clock: Clock, prune_seconds: float = PRUNE_SECONDS) -> None:
        self._engine = engine
        self._clock = clock
        self._prune_seconds = prune_seconds
        self.rolled_up_reports = 0
        self.pruned = asyncio.Event()  # set after each pass of the pruning timer

    def consume(self, conn: Connection, reports: Sequence[StoredReport]) -> None:
        """Add a batch of processed reports to the rollups."""
        rollups = accumulate(reports)
        if rollups:
            add_rollups(conn, rollups)
        self.rolled_up_reports += len(reports)

    def prune(self) -> int:
        """Delete the rollups older than a year now; returns how many."""
        return prune_rollups(self._engine, self._clock.now())

    def pruning(self) -> AbstractAsyncContextManager[None]:
        """A timer that prunes now and every ``prune_seconds`` (hourly), for the block."""
        self.pruned = asyncio.Event()
        return periodic("rollups-prune", self._prune_seconds, self.prune, self.pruned.set)


def oldest_kept_day(now: datetime, keep_days: int = RETENTION_DAYS) -> date:
    """The first day the rollups keep at ``now``."""
    return local_date(now) - timedelta(days=keep_days)


def prune_rollups(engine: Engine, now: datetime, keep_days: int = RETENTION_DAYS) -> int:
    """Delete the rollups of days before :func:`oldest_kept_day`; returns how many."""
    with engine.begin() as conn:
        deleted = conn.execute(
            delete(inventory_rollups).where(
                inventory_rollups.c.day < oldest_kept_day(now, keep_days)
            )
        ).rowcount
    if deleted:
        log.info("rollups pruned", extra={"rows": deleted, "keep_days": keep_days})
    return int(deleted)
