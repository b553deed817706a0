"""Journal processor: consumes stored reports in order into current state and events.

It reads by a cursor kept in the same transaction as its writes, so a crash or restart resumes
exactly where the last commit left off. A lease row keeps one processor per store even when
several collector processes share a PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, delete, func, or_, select, update

from agent.clock import Clock
from agent.wire import Report
from collector.db import WriteGate, insert_ignore, upsert
from collector.gc_tuning import gc_paused
from collector.journal import decode_payload
from collector.merge import AgentMarks, DeviceMerge, mark_agent, merge_entries
from collector.metrics import IngestMetrics
from collector.schema import agents, cursors, device_state, events, journal

log = logging.getLogger(__name__)

CURSOR = "processor"


@dataclass
class StoredReport:
    """A journal entry for consumers: its JSON decoded, the typed Report built on first use."""

    journal_id: int
    agent_id: str
    commune_code: str
    seq: int
    measured_at: datetime
    data: dict[str, Any]
    _report: Report | None = None

    @property
    def report(self) -> Report:
        """The entry as a typed Report (validated at ingest; built lazily, it costs)."""
        if self._report is None:
            self._report = Report.model_validate(self.data)
        return self._report


class JournalConsumer(Protocol):
    """Something fed every processed report in journal order, inside the processing transaction."""

    def consume(self, conn: Connection, reports: Sequence[StoredReport]) -> None: ...


@dataclass
class _Batch:
    """Journal entries read at one cursor position, decoded and merged per device."""

    position: int
    stored: list[StoredReport]
    merged: dict[tuple[str, str], DeviceMerge]
    event_rows: list[dict[str, object]]
    marks: dict[str, AgentMarks]


class Processor:
    """Moves the cursor over the journal, one transaction per step."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        metrics: IngestMetrics,
        *,
        consumers: Sequence[JournalConsumer] = (),
        # Under a backlog (a back-fill, a replay): fewer commits and statements than the 500 it
        # was, while the write transaction stays well under 100 ms; larger batches measured no
        # cheaper per report (their decoded JSON no longer fits the CPU caches).
        batch_size: int = 1000,
        lease_seconds: float = 30.0,
        retention: timedelta = timedelta(days=7),
        gate: WriteGate | None = None,
    ) -> None:
        self._engine = engine
        self._gate = gate or WriteGate(engine)
        self._clock = clock
        self._metrics = metrics
        self._consumers = list(consumers)
        self._batch_size = batch_size
        self._lease = timedelta(seconds=lease_seconds)
        self._retention = retention
        self.holder = f"proc-{secrets.token_hex(4)}"
        self._cursor_ready = False
        # One step at a time: run() steps in a worker thread that a cancellation does not stop,
        # and release() must come after that step's commit, not before it.
        self._stepping = threading.Lock()

    def add_consumer(self, consumer: JournalConsumer) -> None:
        """Feed ``consumer`` too, after the ones given at construction (before the first step)."""
        self._consumers.append(consumer)

    def ensure_cursor(self) -> None:
        """Create the cursor row if the store has none."""
        with self._engine.begin() as conn:
            insert_ignore(conn, cursors, [{"name": CURSOR, "position": 0, "holder": ""}])
        self._cursor_ready = True

    def _read(self, now: datetime) -> _Batch | None:
        """The cursor position and the next entries, read without holding the write lock."""
        with self._engine.connect() as conn:
            cursor = conn.execute(select(cursors).where(cursors.c.name == CURSOR)).one()
            held_elsewhere = (
                cursor.holder not in ("", self.holder)
                and cursor.lease_until is not None
                and cursor.lease_until >= now
            )
            if held_elsewhere:
                return None
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
                .where(journal.c.id > cursor.position)
                .order_by(journal.c.id)
                .limit(self._batch_size)
            ).all()
        # Decoding and merging are the expensive part: done here, outside any write transaction,
        # so that ingest commits are never kept waiting for them (SQLite has a single writer).
        stored = [
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
        merged, event_rows, marks = merge_entries(stored)
        return _Batch(cursor.position, stored, merged, event_rows, marks)

    def step(self) -> int:
        """Process up to one batch of journal entries; returns how many were processed."""
        # A batch decodes into some hundred thousand dicts and lists that live until the step
        # ends: measured on a back-filled province's journal, collections cost 10 % of the CPU.
        with self._stepping, gc_paused():
            return self._step()

    def _step(self) -> int:
        if not self._cursor_ready:
            self.ensure_cursor()
        now = self._clock.now()
        batch = self._read(now)
        if batch is None:
            return 0
        position, stored = batch.position, batch.stored
        with self._gate, self._engine.begin() as conn:
            # Compare-and-set on the position: if another processor moved the cursor since the
            # read (it took over an expired lease), this pass is abandoned and nothing is written.
            moved = conn.execute(
                update(cursors)
                .where(
                    cursors.c.name == CURSOR,
                    cursors.c.position == position,
                    or_(
                        cursors.c.holder == self.holder,
                        cursors.c.holder == "",
                        cursors.c.lease_until.is_(None),
                        cursors.c.lease_until < now,
                    ),
                )
                .values(
                    position=stored[-1].journal_id if stored else position,
                    holder=self.holder,
                    lease_until=now + self._lease,
                )
            ).rowcount
            if moved != 1 or not stored:
                return 0
            self._apply_state(conn, batch)
            for consumer in self._consumers:
                consumer.consume(conn, stored)
        self._metrics.processed_reports.inc(len(stored))
        return len(stored)

    def release(self) -> None:
        """Give up the lease after the step in progress, so that another processor (the next
        process of a hand-over) takes over at once instead of when the lease expires."""
        with self._stepping, self._gate, self._engine.begin() as conn:
            conn.execute(
                update(cursors)
                .where(cursors.c.name == CURSOR, cursors.c.holder == self.holder)
                .values(holder="", lease_until=None)
            )

    def _apply_state(self, conn: Connection, batch: _Batch) -> None:
        existing = self._existing_state(conn, batch.merged.keys())
        rows = [
            state.row(commune_code, device_id, existing.get((commune_code, device_id)))
            for (commune_code, device_id), state in batch.merged.items()
        ]
        upsert(
            conn,
            device_state,
            rows,
            keys=["commune_code", "device_id"],
            update=["agent_id", "kind", "measured_at", "samples", "facts"],
        )
        insert_ignore(conn, events, batch.event_rows)
        for agent_id, marks in batch.marks.items():
            mark_agent(conn, agent_id, marks)

    @staticmethod
    def _existing_state(
        conn: Connection, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        wanted = set(keys)
        if not wanted:
            return {}
        rows = conn.execute(
            select(
                device_state.c.commune_code,
                device_state.c.device_id,
                device_state.c.first_seen_at,
                device_state.c.measured_at,
                device_state.c.samples,
                device_state.c.facts,
            ).where(device_state.c.device_id.in_({device_id for _, device_id in wanted}))
        ).all()
        return {
            (row.commune_code, row.device_id): row
            for row in rows
            if (row.commune_code, row.device_id) in wanted
        }

    def prune(self) -> int:
        """Delete processed journal entries older than the retention; returns how many."""
        cutoff = self._clock.now() - self._retention
        with self._engine.begin() as conn:
            position = conn.execute(
                select(cursors.c.position).where(cursors.c.name == CURSOR)
            ).scalar_one_or_none()
            if position is None:
                return 0
            return conn.execute(
                delete(journal).where(journal.c.id <= position, journal.c.received_at < cutoff)
            ).rowcount

    def lag_seconds(self, now: datetime) -> float:
        """How long the oldest unprocessed entry has waited (0 when the journal is consumed):
        the collector is behind, so silence it judges now may be its own."""
        with self._engine.connect() as conn:
            position = (
                conn.execute(
                    select(cursors.c.position).where(cursors.c.name == CURSOR)
                ).scalar_one_or_none()
                or 0
            )
            oldest = conn.execute(
                select(journal.c.received_at)
                .where(journal.c.id > position)
                .order_by(journal.c.id)
                .limit(1)
            ).scalar_one_or_none()
        return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0

    def lag(self) -> int:
        """Journal entries not processed yet."""
        with self._engine.connect() as conn:
            position = (
                conn.execute(
                    select(cursors.c.position).where(cursors.c.name == CURSOR)
                ).scalar_one_or_none()
                or 0
            )
            count: int = conn.execute(
                select(func.count()).select_from(journal).where(journal.c.id > position)
            ).scalar_one()
        return count

    def drain(self) -> int:
        """Process until the journal is consumed (tests and CLI); returns how many."""
        total = 0
        while (done := self.step()) > 0:
            total += done
        return total

    async def run(
        self, wake: asyncio.Event, idle_seconds: float = 1.0, coalesce_seconds: float = 0.05
    ) -> None:
        """Process forever: as fast as entries come, waking on commits or every idle period.

        A step that found less than a batch (processing has caught up with live ingest) is
        followed by a pause of ``coalesce_seconds`` so that the next step carries what arrived
        meanwhile: under a steady stream of single-report POSTs, one transaction per report
        spent more CPU on the commit than on the report (py-spy of a live collector). 50 ms
        adds nothing a user can see to a report that is a minute apart from the next.

        When cancelled (the process stops) the lease is released after the step in progress.
        """
        self.ensure_cursor()
        prune_every = 600.0
        last_prune = self._clock.monotonic()
        try:
            while True:
                try:
                    done = await asyncio.to_thread(self.step)
                except Exception:
                    log.exception("journal processing failed; retrying")
                    self._metrics.processing_errors.inc()
                    done = 0
                if self._clock.monotonic() - last_prune > prune_every:
                    last_prune = self._clock.monotonic()
                    await asyncio.to_thread(self.prune)
                if done == 0:
                    wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout=idle_seconds)
                elif done < self._batch_size and coalesce_seconds > 0:
                    await asyncio.sleep(coalesce_seconds)
        finally:
            try:
                await asyncio.to_thread(self.release)
            except Exception:
                # The store is away: the lease simply expires, as after a crash.
                log.warning("processor lease not released; it expires by itself", exc_info=True)
