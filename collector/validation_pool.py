"""Large report batches are decoded and validated in a worker process, off the event loop.

A batch of a million samples took 2-5 s to validate, and pydantic-core holds the GIL for the
whole call: in a thread it froze the event loop as surely as inline (``/healthz`` 6.6 s, issue 20).
Small batches (nearly all: one report is a few KiB) are still validated inline, which costs
less than a hand-off; a body whose JSON is larger than ``ingest.inline_max_bytes`` goes to the
worker, which gunzips, bounds, validates and prepares it (``collector.decode.decode_batch``) and
sends back the journal-ready batch (compressed payloads and tuples, a fraction of the models).

Bounds: at most ``ingest.validation_queue_max`` large batches waiting or in validation (503 with
Retry-After beyond), at most one per agent (429), and ``ingest.max_objects_per_batch`` objects
per batch, checked before validation. The worker is started on the first large batch, recycled
after 200 of them (its heap goes back to the system) and replaced if it dies (503 meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from collector.decode import Decoded, DecodeLimits, decode_batch
from collector.errors import CollectorError, Forbidden, ReportRejected
from collector.settings import Settings

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
_TASKS_PER_WORKER = 200

# What the worker sends back: the decoded batch, or an error's class name, text, field and status.
_Outcome = Decoded | tuple[str, str, str | None, int]


class ValidationBusy(ReportRejected):
    """HTTP 503: too many large batches are waiting for validation; retry after a second."""

    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, bound: int) -> None:
        super().__init__(
            f"the collector is validating {bound} large batches (ingest.validation_queue_max); "
            f"nothing was stored, retry after {RETRY_AFTER_SECONDS} s",
            field="body",
            status=503,
        )


class AgentBusy(ReportRejected):
    """HTTP 429: this agent already has a large batch in validation."""

    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, agent_id: str) -> None:
        super().__init__(
            f"agent {agent_id} already has a large batch in validation; send one at a time "
            f"(retry after {RETRY_AFTER_SECONDS} s, nothing was stored)",
            field="Authorization",
            status=429,
        )


def _start_worker(malloc_tuning: bool) -> None:
    if malloc_tuning:
        from collector.malloc_tuning import limit_malloc_retention

        limit_malloc_retention()


def _decode_in_worker(
    raw: bytes,
    content_encoding: str | None,
    agent_id: str,
    received_at: datetime,
    limits: DecodeLimits,
) -> _Outcome:
    """Run in the worker: the decoded batch, or our error as plain values (our exceptions take
    keyword arguments that pickling would lose)."""
    try:
        return decode_batch(raw, content_encoding, agent_id, received_at, limits)
    except ReportRejected as exc:
        return (type(exc).__name__, str(exc), exc.field, exc.status)
    except CollectorError as exc:
        return (type(exc).__name__, str(exc), None, 0)


def _raise(outcome: tuple[str, str, str | None, int]) -> None:
    kind, message, field, status = outcome
    if kind == "Forbidden":
        raise Forbidden(message)
    raise ReportRejected(message, field=field or "body", status=status or 422)


class ValidationPool:
    """The worker process(es) that decode large batches, with their bounds."""

    def __init__(self, settings: Settings) -> None:
        self._limits = DecodeLimits.of(settings)
        self._workers = settings.ingest.validation_workers
        self._queue_max = settings.ingest.validation_queue_max
        self._malloc_tuning = settings.malloc_tuning
        self._executor: ProcessPoolExecutor | None = None
        self._agents: set[str] = set()

    @property
    def in_flight(self) -> int:
        """Large batches waiting for or in validation."""
        return len(self._agents)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: the collector runs threads (the store's pool, the processor), which a fork
            # would copy mid-lock.
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._malloc_tuning,),
                max_tasks_per_child=_TASKS_PER_WORKER,
            )
        return self._executor

    async def decode(
        self, raw: bytes, content_encoding: str | None, agent_id: str, received_at: datetime
    ) -> Decoded:
        """Decode, validate and prepare one large batch in the worker."""
        if agent_id in self._agents:
            raise AgentBusy(agent_id)
        if len(self._agents) >= self._queue_max:
            raise ValidationBusy(self._queue_max)
        self._agents.add(agent_id)
        try:
            loop = asyncio.get_running_loop()
            try:
                outcome = await loop.run_in_executor(
                    self._pool(),
                    _decode_in_worker,
                    raw,
                    content_encoding,
                    agent_id,
                    received_at,
                    self._limits,
                )
            except BrokenProcessPool:
                log.error("validation worker died; starting a new one")
                self._drop_pool()
                raise ValidationBusy(self._queue_max) from None
        finally:
            self._agents.discard(agent_id)
        if isinstance(outcome, tuple):
            _raise(outcome)
        assert isinstance(outcome, Decoded)
        return outcome

    def _drop_pool(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        """Stop the worker processes (at the collector's shutdown)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
