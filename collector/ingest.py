"""Report ingest: decode and validate a batch, then group-commit it to the journal and acknowledge.

The acknowledgement is sent only after the transaction holding the reports has committed, and
names the highest contiguous sequence stored: that is what lets an agent delete from its spool
without ever losing a report (DESIGN.md invariant 1). Several concurrent requests share one
commit (group commit), so durability costs one fsync per group, not per report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, select, update

from agent.wire import Ack, ReportBatch
from collector.agents import AgentIdentity
from collector.budgets import BudgetLedger, ReportsRefused, claim_rows
from collector.db import WriteGate, insert_ignore
from collector.decode import (
    PreparedBatch,
    PreparedReport,
    check_times,
    decode_body,
    parse_batch,
    prepare_batch,
    skew_correction,
)
from collector.errors import AuthError, CollectorError, Conflict, ReportRejected
from collector.metrics import IngestMetrics
from collector.schema import agents, device_owners, journal
from collector.settings import Settings

# Decoding moved to collector.decode; these names stay importable from here.
__all__ = [
    "BatchToStore",
    "IngestOverloaded",
    "JournalWriter",
    "PreparedBatch",
    "PreparedReport",
    "Stored",
    "check_times",
    "decode_body",
    "parse_batch",
    "prepare_batch",
    "skew_correction",
    "store_batch",
    "store_batches",
]

log = logging.getLogger(__name__)


class IngestOverloaded(ReportRejected):
    """HTTP 503: the journal writer's queue is full; retry after ``retry_after`` seconds."""

    retry_after = 1

    def __init__(self, bound: int) -> None:
        super().__init__(
            f"the collector is overloaded ({bound} batches waiting for the store); nothing was "
            f"stored, retry after {self.retry_after} s",
            field="body",
            status=503,
        )


@dataclass
class _Pending:
    identity: AgentIdentity
    batch: PreparedBatch
    received_at: datetime
    correction: timedelta
    future: asyncio.Future[Ack] = field(repr=False)


def _advance_contiguous(conn: Connection, agent_id: str, acked: int) -> int:
    rows = conn.execute(
        select(journal.c.seq)
        .where(journal.c.agent_id == agent_id, journal.c.seq > acked)
        .order_by(journal.c.seq)
        .limit(10_000)
    ).scalars()
    for seq in rows:
        if seq != acked + 1:
            break
        acked = seq
    return acked


@dataclass
class _AgentState:
    acked: int
    max_seq: int
    token_hash: str
    revoked: bool
    last_measured: datetime | None
    commune_code: str = ""
    devices_version: int = 0
    values: dict[str, object] = field(default_factory=dict)
    refusal: ReportsRefused | None = None


@dataclass(frozen=True)
class BatchToStore:
    """A validated batch with what the request learnt about it."""

    identity: AgentIdentity
    batch: PreparedBatch
    received_at: datetime
    correction: timedelta


@dataclass(frozen=True)
class Stored:
    """The outcome of storing one batch."""

    ack: Ack
    reports: int
    samples: int


class _GroupWrite:
    """Journal rows and agent updates of one transaction, written with few statements."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: list[dict[str, object]] = []

    def flush(self) -> None:
        if self.rows:
            self.conn.execute(journal.insert(), self.rows)
            self.rows = []


def _admit(
    group: _GroupWrite,
    ledger: BudgetLedger,
    state: _AgentState,
    item: BatchToStore,
    new: Sequence[PreparedReport],
) -> None:
    """Check the new reports against the budgets and device owners; claim new devices."""
    seqs = {report.seq for report in new}
    agent_id = item.identity.agent_id
    indexed = [(i, r) for i, r in enumerate(item.batch.reports) if r.seq in seqs]
    claims = ledger.admit(group.conn, agent_id, state.commune_code, state.devices_version, indexed)
    if not claims:
        return
    insert_ignore(
        group.conn,
        device_owners,
        claim_rows(state.commune_code, agent_id, claims, item.received_at),
    )
    # Another collector process may have claimed one of them since this one read the commune.
    taken = group.conn.execute(
        select(device_owners.c.device_id, device_owners.c.agent_id).where(
            device_owners.c.commune_code == state.commune_code,
            device_owners.c.device_id.in_(claims),
            device_owners.c.agent_id != agent_id,
        )
    ).first()
    if taken is not None:
        ledger.forget(state.commune_code)
        raise ReportsRefused(
            f"reports: device {taken.device_id!r} of commune {state.commune_code} belongs to "
            f"agent {taken.agent_id!r}; nothing stored",
            field="reports",
            status=409,
            budget="device_owner",
            refused=tuple(sorted(seqs)),
        )


def _check_agent(state: _AgentState, item: BatchToStore, sequence_window: int) -> None:
    """Refuse a revoked or replaced token, and sequences far below the acknowledged one."""
    if state.revoked:
        raise AuthError("agent token has been revoked")
    if state.token_hash != item.identity.token_hash:
        raise AuthError("agent token has been replaced by a newer one")
    floor = state.acked - sequence_window
    for index, report in enumerate(item.batch.reports):
        if report.seq <= floor:
            raise Conflict(
                f"reports.{index}.seq: sequence {report.seq} is more than {sequence_window} below "
                f"the acknowledged {state.acked}; a reinstalled agent must enrol again"
            )


def _store_one(
    group: _GroupWrite,
    state: _AgentState,
    item: BatchToStore,
    sequence_window: int,
    ledger: BudgetLedger | None = None,
) -> Stored:
    identity, batch = item.identity, item.batch
    _check_agent(state, item, sequence_window)
    acked, max_seq = state.acked, state.max_seq
    candidates = [r for r in batch.reports if r.seq > acked]
    existing: set[int] = set()
    # Steady state: everything new lies above the highest stored sequence, nothing to look up.
    if candidates and min(r.seq for r in candidates) <= max_seq:
        group.flush()
        existing = set(
            group.conn.execute(
                select(journal.c.seq).where(
                    journal.c.agent_id == identity.agent_id,
                    journal.c.seq.in_([r.seq for r in candidates]),
                )
            ).scalars()
        )
    new = [r for r in candidates if r.seq not in existing]
    if ledger is not None and new:
        _admit(group, ledger, state, item, new)
    samples = 0
    for report in new:
        samples += report.samples
        group.rows.append(
            {
                "agent_id": identity.agent_id,
                "seq": report.seq,
                "measured_at": report.measured_at + item.correction,
                "received_at": item.received_at,
                "samples": report.samples,
                "payload": report.payload,
            }
        )
    gap_before = max_seq > acked
    if batch.oldest_unacked_seq is not None:
        # Below the oldest report the agent still holds, nothing more will ever come.
        acked = max(acked, batch.oldest_unacked_seq - 1)
    if gap_before or acked > max_seq:
        group.flush()
        acked = _advance_contiguous(group.conn, identity.agent_id, acked)
    else:
        # No stored sequence above the ack but this batch's: advance over the batch alone.
        for seq in sorted(r.seq for r in new):
            if seq != acked + 1:
                break
            acked = seq
    if new:
        max_seq = max(max_seq, *(r.seq for r in new))
    last_measured = max(r.measured_at for r in batch.reports) + item.correction
    if state.last_measured is not None:
        last_measured = max(last_measured, state.last_measured)
    skew = (item.received_at - batch.sent_at).total_seconds()
    state.acked, state.max_seq, state.last_measured = acked, max_seq, last_measured
    state.values = {
        "acked_seq": acked,
        "max_seq": max_seq,
        "last_seen_at": item.received_at,
        "last_measured_at": last_measured,
        "clock_skew_seconds": skew,
    }
    ack = Ack(
        agent_id=identity.agent_id,
        acked_seq=acked,
        stored=sorted(r.seq for r in batch.reports),
        duplicates=len(batch.reports) - len(new),
        clock_skew_seconds=skew,
    )
    return Stored(ack=ack, reports=len(new), samples=samples)


def store_batches(
    conn: Connection,
    items: Sequence[BatchToStore],
    sequence_window: int,
    ledger: BudgetLedger | None = None,
) -> list[Stored | CollectorError]:
    """Write the new reports of several batches to the journal in one transaction.

    A batch that is refused (revoked token, sequence far below the ack, past a budget of
    ``ledger``, a device of another agent) is refused before any of its rows are written, so the
    others in the group are unaffected. Without a ledger (tests, tools) budgets and device owners
    are not checked.
    """
    agent_ids = sorted({item.identity.agent_id for item in items})
    states = {
        row.id: _AgentState(
            acked=row.acked_seq,
            max_seq=row.max_seq,
            token_hash=row.token_hash,
            revoked=row.revoked_at is not None,
            last_measured=row.last_measured_at,
            commune_code=row.commune_code,
            devices_version=row.devices_version,
        )
        for row in conn.execute(
            select(
                agents.c.id,
                agents.c.acked_seq,
                agents.c.max_seq,
                agents.c.token_hash,
                agents.c.revoked_at,
                agents.c.last_measured_at,
                agents.c.commune_code,
                agents.c.devices_version,
            )
            .where(agents.c.id.in_(agent_ids))
            # In id order, so that two ingest processes (serve --workers N on PostgreSQL) lock
            # overlapping agents in the same order. NO KEY UPDATE (what PostgreSQL's own UPDATE
            # of non-key columns takes) rather than UPDATE: the processor's inserts of events and
            # device state hold KEY SHARE locks on their agents (the foreign keys), in their own
            # order; FOR UPDATE conflicts with those and deadlocked against a processor step.
            .order_by(agents.c.id)
            .with_for_update(key_share=True)
        )
    }
    group = _GroupWrite(conn)
    results: list[Stored | CollectorError] = []
    for item in items:
        state = states.get(item.identity.agent_id)
        try:
            if state is None:
                raise AuthError("unknown agent")
            results.append(_store_one(group, state, item, sequence_window, ledger))
        except ReportsRefused as exc:
            assert state is not None
            state.refusal = exc
            results.append(exc)
        except CollectorError as exc:
            results.append(exc)
    group.flush()
    _note_refusals(conn, states, items[0].received_at if items else None)
    updates = [
        {"agent_key": agent_id, **state.values}
        for agent_id, state in states.items()
        if state.values
    ]
    if updates:
        conn.execute(
            update(agents)
            .where(agents.c.id == bindparam("agent_key"))
            .values(
                acked_seq=bindparam("acked_seq"),
                max_seq=bindparam("max_seq"),
                last_seen_at=bindparam("last_seen_at"),
                last_measured_at=bindparam("last_measured_at"),
                clock_skew_seconds=bindparam("clock_skew_seconds"),
            ),
            updates,
        )
    return results


def _note_refusals(conn: Connection, states: dict[str, _AgentState], at: datetime | None) -> None:
    """Count each agent's refused reports on its row and keep the last reason."""
    for agent_id, state in states.items():
        if state.refusal is not None:
            conn.execute(
                update(agents)
                .where(agents.c.id == agent_id)
                .values(
                    refusals=agents.c.refusals + 1,
                    last_refusal_at=at,
                    last_refusal=str(state.refusal)[:500],
                )
            )


def store_batch(
    conn: Connection,
    identity: AgentIdentity,
    batch: ReportBatch,
    received_at: datetime,
    correction: timedelta,
    sequence_window: int,
) -> tuple[Ack, int, int]:
    """Store one batch; returns the ack, the reports and the samples newly stored."""
    (result,) = store_batches(
        conn,
        [BatchToStore(identity, prepare_batch(batch), received_at, correction)],
        sequence_window,
    )
    if isinstance(result, CollectorError):
        raise result
    return result.ack, result.reports, result.samples


class JournalWriter:
    """Serialises ingest into group commits; ``submit`` resolves once the batch is durable."""

    def __init__(
        self, engine: Engine, settings: Settings, metrics: IngestMetrics, gate: WriteGate
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._settings = settings
        self._metrics = metrics
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.committed = asyncio.Event()
        # Received times of the batches waiting for their commit, oldest first (insertion order).
        self._waiting: dict[int, datetime] = {}
        self._next_ticket = 0
        # Budgets and device owners, admitted inside the serialised commit (one thread at a time).
        self.ledger = BudgetLedger(settings.budgets)

    def stall_seconds(self, now: datetime) -> float:
        """How long the oldest batch still waiting for its commit has waited (0 if none): an
        ingest that stalls makes every agent look silent."""
        oldest = next(iter(self._waiting.values()), None)
        return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0

    def start(self) -> None:
        """Start the writer loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="journal-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def submit(
        self,
        identity: AgentIdentity,
        batch: PreparedBatch,
        received_at: datetime,
        correction: timedelta,
    ) -> Ack:
        """Queue a validated batch; returns its ack after the commit that holds it."""
        if self._queue.qsize() >= self._settings.ingest_queue_max:
            # The store is slower than the agents: refuse now rather than hold unbounded memory.
            raise IngestOverloaded(self._settings.ingest_queue_max)
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        ticket = self._next_ticket
        self._next_ticket += 1
        self._waiting[ticket] = received_at
        self._queue.put_nowait(_Pending(identity, batch, received_at, correction, future))
        # The depth gauge is set by the writer loop as it takes each group: what is left waiting.
        try:
            return await future
        finally:
            self._waiting.pop(ticket, None)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            group = [first]
            while len(group) < self._settings.group_commit_max and not self._queue.empty():
                group.append(self._queue.get_nowait())
            self._metrics.queue_depth.set(self._queue.qsize())
            try:
                results = await asyncio.to_thread(self._commit, group)
            except Exception as exc:
                log.exception("journal commit failed", extra={"group": len(group)})
                for pending in group:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            else:
                for pending, result in zip(group, results, strict=True):
                    if pending.future.done():
                        continue
                    if isinstance(result, BaseException):
                        pending.future.set_exception(result)
                    else:
                        pending.future.set_result(result)
                self.committed.set()
            finally:
                for _ in group:
                    self._queue.task_done()

    def _commit(self, group: Sequence[_Pending]) -> list[Ack | CollectorError]:
        items = [BatchToStore(p.identity, p.batch, p.received_at, p.correction) for p in group]
        try:
            with self._gate, self._engine.begin() as conn:
                outcomes = store_batches(conn, items, self._settings.sequence_window, self.ledger)
        except Exception:
            # The devices the ledger saw claimed were never stored: read them again next time.
            self.ledger.forget()
            raise
        results: list[Ack | CollectorError] = []
        stored_reports = stored_samples = duplicates = 0
        for outcome in outcomes:
            if isinstance(outcome, CollectorError):
                if isinstance(outcome, ReportsRefused):
                    self._metrics.budget_refusals.labels(budget=outcome.budget).inc(
                        len(outcome.refused)
                    )
                results.append(outcome)
                continue
            results.append(outcome.ack)
            stored_reports += outcome.reports
            stored_samples += outcome.samples
            duplicates += outcome.ack.duplicates
        self._metrics.commit_group_size.observe(len(group))
        self._metrics.reports.labels(result="stored").inc(stored_reports)
        self._metrics.reports.labels(result="duplicate").inc(duplicates)
        self._metrics.samples.inc(stored_samples)
        return results
