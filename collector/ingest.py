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
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, bindparam, select, update

from agent.wire import Ack, ReportBatch
from collector.agents import AgentIdentity
from collector.db import WriteGate
from collector.errors import AuthError, CollectorError, Conflict, ReportRejected
from collector.gc_tuning import gc_paused
from collector.metrics import IngestMetrics
from collector.schema import agents, journal
from collector.settings import Settings

log = logging.getLogger(__name__)


def decode_body(raw: bytes, content_encoding: str | None, max_decompressed: int) -> bytes:
    """The JSON bytes of a request body, gunzipped if needed, never larger than the bound."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return raw
    if encoding != "gzip":
        raise ReportRejected(
            f"Content-Encoding {encoding!r} is not supported; use gzip or none",
            field="Content-Encoding",
            status=415,
        )
    # wbits=31: gzip container only. max_length bounds the output, which defeats gzip bombs.
    decompressor = zlib.decompressobj(wbits=31)
    try:
        body = decompressor.decompress(raw, max_decompressed)
    except zlib.error as exc:
        raise ReportRejected(f"body is not valid gzip: {exc}", status=400) from None
    if decompressor.unconsumed_tail:
        raise ReportRejected(f"body decompresses to more than {max_decompressed} bytes", status=413)
    if not decompressor.eof:
        raise ReportRejected("gzip body is truncated", status=400)
    return body


def parse_batch(body: bytes) -> ReportBatch:
    """Validate a JSON body as a ReportBatch; errors name the first bad field."""
    try:
        # A month of back-fill is 720 reports of ~50 samples in one body: collections running
        # while its models are built scan them again and again. Paused, validation took
        # 0.151-0.158 ms per report instead of 0.172 (in-process, tuned thresholds). The HTTP
        # path keeps the pause until the models are reduced to a PreparedBatch and freed.
        with gc_paused():
            return ReportBatch.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise ReportRejected(f"body is not valid JSON: {first['msg']}", status=400) from None
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ReportRejected(
            f"{where}: {first['msg']}"
            + (f" ({exc.error_count()} errors)" if exc.error_count() > 1 else ""),
            field=where,
        ) from None


def skew_correction(batch: ReportBatch, received_at: datetime, settings: Settings) -> timedelta:
    """How much to add to the agent's times: its clock offset, if larger than the tolerance."""
    skew = received_at - batch.sent_at
    if abs(skew.total_seconds()) > settings.clock_skew_tolerance_seconds:
        return skew
    return timedelta(0)


def check_times(batch: ReportBatch, received_at: datetime, settings: Settings) -> timedelta:
    """Reject reports measured in the future; return the skew correction to apply."""
    correction = skew_correction(batch, received_at, settings)
    limit = received_at + timedelta(seconds=settings.future_window_seconds)
    for index, report in enumerate(batch.reports):
        try:
            corrected = report.measured_at + correction
        except OverflowError:
            # A clock years off (a flat CMOS battery) plus a wild timestamp: no real time.
            raise ReportRejected(
                f"reports.{index}.measured_at: {report.measured_at.isoformat()} corrected by the "
                f"agent's clock offset ({correction.total_seconds():.0f} s) is not a valid time",
                field=f"reports.{index}.measured_at",
            ) from None
        if corrected > limit:
            raise ReportRejected(
                f"reports.{index}.measured_at: {report.measured_at.isoformat()} is more than "
                f"{settings.future_window_seconds:g} s in the future",
                field=f"reports.{index}.measured_at",
            )
    seen: set[int] = set()
    for index, report in enumerate(batch.reports):
        if report.seq in seen:
            raise ReportRejected(
                f"reports.{index}.seq: sequence {report.seq} appears twice in this batch",
                field=f"reports.{index}.seq",
            )
        seen.add(report.seq)
    return correction


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


class PreparedReport(NamedTuple):
    """What the journal keeps of one report: its number, time, size and compressed payload."""

    seq: int
    measured_at: datetime
    samples: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A validated batch reduced to what storing it needs.

    A month of back-fill validates into some hundred thousand model objects. Reduced to a few
    hundred tuples of atomic values before cyclic collection runs again, the models are freed by
    reference counting and never scanned; kept until the group commit, every young and older
    collection meanwhile walked them (half of the ingest's CPU in a py-spy profile of the
    back-fill). Serialising here also moves that work out of the serialised commit.
    """

    agent_id: str
    sent_at: datetime
    oldest_unacked_seq: int | None
    reports: tuple[PreparedReport, ...]


def prepare_batch(batch: ReportBatch) -> PreparedBatch:
    """The journal rows' contents of a validated batch, each payload compressed once."""
    return PreparedBatch(
        agent_id=batch.agent_id,
        sent_at=batch.sent_at,
        oldest_unacked_seq=batch.oldest_unacked_seq,
        reports=tuple(
            PreparedReport(
                report.seq,
                report.measured_at,
                sum(len(device.samples) for device in report.devices),
                zlib.compress(report.model_dump_json().encode(), 1),
            )
            for report in batch.reports
        ),
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
    values: dict[str, object] = field(default_factory=dict)


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


def _store_one(
    group: _GroupWrite, state: _AgentState, item: BatchToStore, sequence_window: int
) -> Stored:
    identity, batch = item.identity, item.batch
    if state.revoked:
        raise AuthError("agent token has been revoked")
    if state.token_hash != identity.token_hash:
        raise AuthError("agent token has been replaced by a newer one")
    acked, max_seq = state.acked, state.max_seq
    floor = acked - sequence_window
    for index, report in enumerate(batch.reports):
        if report.seq <= floor:
            raise Conflict(
                f"reports.{index}.seq: sequence {report.seq} is more than {sequence_window} below "
                f"the acknowledged {acked}; a reinstalled agent must enrol again"
            )
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
    conn: Connection, items: Sequence[BatchToStore], sequence_window: int
) -> list[Stored | CollectorError]:
    """Write the new reports of several batches to the journal in one transaction.

    A batch that is refused (revoked token, sequence far below the ack) is refused before any of
    its rows are written, so the others in the group are unaffected.
    """
    agent_ids = sorted({item.identity.agent_id for item in items})
    states = {
        row.id: _AgentState(
            acked=row.acked_seq,
            max_seq=row.max_seq,
            token_hash=row.token_hash,
            revoked=row.revoked_at is not None,
            last_measured=row.last_measured_at,
        )
        for row in conn.execute(
            select(
                agents.c.id,
                agents.c.acked_seq,
                agents.c.max_seq,
                agents.c.token_hash,
                agents.c.revoked_at,
                agents.c.last_measured_at,
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
            results.append(_store_one(group, state, item, sequence_window))
        except CollectorError as exc:
            results.append(exc)
    group.flush()
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
        self._queue.put_nowait(_Pending(identity, batch, received_at, correction, future))
        # The depth gauge is set by the writer loop as it takes each group: what is left waiting.
        return await future

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
        with self._gate, self._engine.begin() as conn:
            outcomes = store_batches(conn, items, self._settings.sequence_window)
        results: list[Ack | CollectorError] = []
        stored_reports = stored_samples = duplicates = 0
        for outcome in outcomes:
            if isinstance(outcome, CollectorError):
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
