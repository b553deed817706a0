"""Rebuild the daily rollups from what the store still holds (``inventory rollups rebuild``).

A migration cannot compute rollups: the journal it would read is pruned after a week. So after
upgrading (or to repair them) this fills them:

* saturation from the journal entries the processor has consumed, measured in the last ``days``
  Vietnam days (at most what the journal keeps);
* failures from the events table (critical events, kept with the device's history) over the
  12 months the ranking counts.

The live processor keeps adding to the rollups meanwhile, so nothing is double counted or lost:
the entries are read up to the processor's cursor, and the rows are written in one transaction
that first locks the cursor row (the processor waits), reads the entries it consumed since, and
keeps, of a stored rollup and the rebuilt one, the one made of more reports (a rollup of the live
consumer is more complete for a day the journal has already pruned in part). Failure types are
a set: the rebuilt ones are added. Rebuilding twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, func, select, update

from agent.vntime import local_date, local_midnight
from collector.journal import decode_payload
from collector.processor import CURSOR, StoredReport
from collector.schema import agents, cursors, events, journal
from inventory.errors import RollupError
from inventory.rollup_reader import saturation_days_range
from inventory.rollups import (
    MAX_FAILURE_TYPES,
    RETENTION_DAYS,
    DayRollup,
    RollupKey,
    accumulate,
    stored_rollups,
    write_rollups,
)
from inventory.signals import FAILURE_SEVERITIES, WINDOW

# (phase, done, total): "journal" counts entries, "events" critical events, "write" rows.
Progress = Callable[[str, int, int], None]
CHUNK = 2000  # journal entries decoded at a time: a few MB of JSON


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild read and wrote."""

    first_day: date
    last_day: date
    reports: int  # journal entries rolled up
    failure_events: int  # critical events read
    written: int  # rows written
    kept: int  # stored rollups more complete than the rebuilt ones, kept as they were


def rebuild_rollups(
    engine: Engine, now: datetime, *, days: float, progress: Progress = _quiet
) -> RebuildResult:
    """Rebuild saturation over the last ``days`` Vietnam days (today included) and failures
    over 12 months, as described in the module's docstring."""
    if not 0 < days <= RETENTION_DAYS:
        raise RollupError("--days", days, f"must be more than 0 and at most {RETENTION_DAYS}")
    first_day, last_day = saturation_days_range(now, days)
    span = (local_midnight(first_day), local_midnight(last_day + timedelta(days=1)))
    with engine.connect() as conn:
        position = _cursor(conn)
        total = conn.execute(
            select(func.count()).select_from(journal).where(*_in_span(span, 0, position))
        ).scalar_one()
        rollups: dict[RollupKey, DayRollup] = {}
        reports = 0
        for batch in _entries(conn, span, 0, position):
            accumulate(batch, rollups)
            reports += len(batch)
            progress("journal", reports, int(total))
        failures, failure_events = _failures(conn, now, progress)
    with engine.begin() as conn:
        # Locks the cursor row: the processor's next step waits for this transaction, so the
        # entries it consumed meanwhile are exactly those after ``position`` up to ``latest``.
        conn.execute(
            update(cursors).where(cursors.c.name == CURSOR).values(position=cursors.c.position)
        )
        latest = _cursor(conn)
        for batch in _entries(conn, span, position, latest):
            accumulate(batch, rollups)
            reports += len(batch)
        written, kept = _write(conn, rollups, failures, progress)
    return RebuildResult(first_day, last_day, reports, failure_events, written, kept)


def _cursor(conn: Connection) -> int:
    position = conn.execute(
        select(cursors.c.position).where(cursors.c.name == CURSOR)
    ).scalar_one_or_none()
    return int(position or 0)


def _in_span(
    span: tuple[datetime, datetime], after: int, upto: int
) -> tuple[ColumnElement[bool], ...]:
    return (
        journal.c.id > after,
        journal.c.id <= upto,
        journal.c.measured_at >= span[0],
        journal.c.measured_at < span[1],
    )


def _entries(
    conn: Connection, span: tuple[datetime, datetime], after: int, upto: int
) -> Iterator[list[StoredReport]]:
    """The journal entries with ids in (``after``, ``upto``] measured in ``span``, decoded,
    a chunk at a time."""
    while after < upto:
        rows = conn.execute(
            select(
                journal.c.id,
                journal.c.agent_id,
                journal.c.seq,
                journal.c.measured_at,
                journal.c.payload,
                agents.c.commune_code,
            )
            .join(agents, agents.c.id == journal.c.agent_id)
            .where(*_in_span(span, after, upto))
            .order_by(journal.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        yield [
            StoredReport(
                journal_id=row.id,
                agent_id=row.agent_id,
                commune_code=row.commune_code,
                seq=row.seq,
                measured_at=row.measured_at,
                data=decode_payload(row.payload),
            )
            for row in rows
        ]


def _failures(
    conn: Connection, now: datetime, progress: Progress
) -> tuple[dict[RollupKey, set[str]], int]:
    """The distinct critical event types per (commune, device, day) of the last 12 months."""
    since = local_midnight(local_date(now - WINDOW))
    in_window = (
        events.c.measured_at >= since,
        events.c.severity.in_(FAILURE_SEVERITIES),
    )
    total = int(conn.execute(select(func.count()).where(*in_window)).scalar_one())
    out: dict[RollupKey, set[str]] = {}
    read = 0
    result = conn.execution_options(yield_per=CHUNK).execute(
        select(events.c.commune_code, events.c.device_id, events.c.type, events.c.measured_at)
        .where(*in_window)
        .order_by(events.c.id)
    )
    for code, device_id, kind, measured_at in result:
        types = out.setdefault((code, device_id, local_date(measured_at)), set())
        if len(types) < MAX_FAILURE_TYPES:
            types.add(kind)
        read += 1
        if read % CHUNK == 0:
            progress("events", read, total)
    progress("events", read, total)
    return out, read


def _write(
    conn: Connection,
    rollups: dict[RollupKey, DayRollup],
    failures: dict[RollupKey, set[str]],
    progress: Progress,
) -> tuple[int, int]:
    """Merge the rebuilt rollups into the stored ones; (rows written, stored ones kept)."""
    keys = sorted(set(rollups) | set(failures))
    kept = written = 0
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        stored = stored_rollups(conn, chunk)
        out: dict[RollupKey, DayRollup] = {}
        for key in chunk:
            before, rebuilt = stored.get(key), rollups.get(key)
            if rebuilt is not None and (before is None or rebuilt.reports > before.reports):
                merged = rebuilt
                if before is not None:
                    merged.failure_types |= before.failure_types
            else:
                merged = before or DayRollup()
                kept += before is not None and rebuilt is not None
                if rebuilt is not None:
                    merged.failure_types |= rebuilt.failure_types
            merged.failure_types |= failures.get(key, set())
            merged.failure_types = set(sorted(merged.failure_types)[:MAX_FAILURE_TYPES])
            if before is None or merged.row(key) != before.row(key):
                out[key] = merged
        write_rollups(conn, out)
        written += len(out)
        progress("write", start + len(chunk), len(keys))
    return written, kept
