"""History for a simulated fleet, posted fast through the collector's real HTTP ingest.

Each agent's history is posted in large batches straight from the behaviour dicts (no spool: the
reports would only pass through it); the agent's spool is then started at the next sequence
number, so the live run continues the sequence without a gap or a duplicate. A POST that times
out or is refused as overloaded is sent again, a bounded number of times: the collector stores
each (agent, sequence) once, so a resend never duplicates. History is fault-free, but the
counter PCs live by the working calendar in it too: off at night, a goodbye in the evening.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import orjson

from agent.clock import Clock
from agent.wire import MAX_REPORTS_PER_BATCH, SCHEMA_VERSION
from sim.behaviour import Behaviour
from sim.faults import FaultView

if TYPE_CHECKING:
    from sim.runtime import SimRuntime

log = logging.getLogger(__name__)

# Stay well under the collector's 64 MiB decompressed-body guard with one back-fill POST.
BACKFILL_MAX_BODY = 16 * 1024 * 1024
# Stay under the collector's default ``ingest.max_objects_per_batch`` (250,000 JSON objects):
# a site agent's hour polls dozens of interfaces, each sample and label set an object. A
# collector set lower answers 413, and the batch is halved as the agent does.
BACKFILL_MAX_OBJECTS = 200_000
# Agents back-filling at once. Each POST carries up to a month of one agent's reports: a few in
# flight keep the collector busy, while many only make its queue (and every ack) longer.
BACKFILL_CONCURRENCY = 8
_ATTEMPTS = 6
_RETRY_STATUS = frozenset({408, 429, 503})


@dataclass
class BackfillResult:
    """What a back-fill posted."""

    reports: int = 0
    samples: int = 0
    posts: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    # POSTs sent again after a timeout, a dropped connection or a 429/503 (ingest is idempotent).
    retries: int = 0
    # Reports a retried POST found already stored (the first attempt had committed them).
    duplicates: int = 0
    failures: list[str] = field(default_factory=list)


class History:
    """Posts the history of some agents from one behaviour, on given HTTP clients."""

    def __init__(
        self,
        behaviour: Behaviour,
        clients: Sequence[httpx.AsyncClient],
        *,
        sent_clock: Clock,
        retry_seconds: float,
    ) -> None:
        """``sent_clock`` stamps each POST's ``sent_at``: the clock of the collector receiving
        it, so that it sees no skew to correct; ``retry_seconds`` is the first pause before a
        POST is resent (doubling on each further attempt)."""
        self.behaviour = behaviour
        self.clients = clients
        self.sent_clock = sent_clock
        self.retry_seconds = retry_seconds

    async def post(
        self,
        runtimes: Sequence[SimRuntime],
        start: datetime,
        end: datetime,
        step_seconds: float,
        concurrency: int,
        progress: Callable[[int], None] | None,
    ) -> BackfillResult:
        """Every report of ``runtimes`` from ``start`` to ``end`` (exclusive)."""
        result = BackfillResult()
        semaphore = asyncio.Semaphore(concurrency)
        begun = time.perf_counter()
        step = timedelta(seconds=step_seconds)
        times: list[tuple[datetime, str]] = []  # with the ISO text, made once for every agent
        at = start
        while at < end:
            times.append((at, at.isoformat()))
            at += step
        quiet = FaultView()
        done = 0

        async def one(runtime: SimRuntime) -> None:
            nonlocal done
            client = self.clients[runtime.lane % len(self.clients)]
            async with semaphore:
                await self._agent(runtime, client, times, step_seconds, quiet, result)
            done += 1
            if progress is not None:
                progress(done)

        await asyncio.gather(*(one(runtime) for runtime in runtimes))
        result.seconds = time.perf_counter() - begun
        return result

    async def _agent(
        self,
        runtime: SimRuntime,
        client: httpx.AsyncClient,
        times: list[tuple[datetime, str]],
        step_seconds: float,
        quiet: FaultView,
        result: BackfillResult,
    ) -> None:
        parts: list[bytes] = []
        size = objects = 0
        for at, stamp in times:
            devices = self.behaviour.agent_report(runtime.agent, at, step_seconds, quiet)
            if devices is None:
                continue
            part = orjson.dumps({"seq": runtime.next_seq, "measured_at": stamp, "devices": devices})
            runtime.next_seq += 1
            result.samples += sum(len(d["samples"]) for d in devices)  # type: ignore[arg-type,misc]
            parts.append(part)
            size += len(part)
            objects += part.count(b"{")  # as the collector counts them (collector.decode)
            if (
                len(parts) >= MAX_REPORTS_PER_BATCH
                or size >= BACKFILL_MAX_BODY
                or objects >= BACKFILL_MAX_OBJECTS
            ):
                await self._post(runtime, client, parts, result)
                parts, size, objects = [], 0, 0
            # Yield now and then so that in-flight POSTs of other agents make progress.
            if len(parts) % 50 == 0:
                await asyncio.sleep(0)
        if parts:
            await self._post(runtime, client, parts, result)

    async def _post(
        self,
        runtime: SimRuntime,
        client: httpx.AsyncClient,
        parts: list[bytes],
        result: BackfillResult,
    ) -> None:
        head = orjson.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "agent_id": runtime.agent_id,
                "sent_at": self.sent_clock.now().isoformat(),
            }
        )
        body = head[:-1] + b',"reports":[' + b",".join(parts) + b"]}"
        compressed = await asyncio.to_thread(gzip.compress, body, 1)
        result.posts += 1
        result.bytes_sent += len(compressed)
        outcome = ""
        for attempt in range(1, _ATTEMPTS + 1):
            if attempt > 1:
                result.retries += 1
                await asyncio.sleep(min(self.retry_seconds * 2 ** (attempt - 2), 8.0))
            try:
                response = await client.post(
                    "/api/v1/reports",
                    content=compressed,
                    headers={
                        "Authorization": f"Bearer {runtime.token}",
                        "Content-Encoding": "gzip",
                        "Content-Type": "application/json",
                    },
                )
            except httpx.TransportError as exc:
                outcome = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 200:
                result.reports += len(parts)
                result.duplicates += int(response.json().get("duplicates", 0))
                return
            outcome = f"HTTP {response.status_code}"
            if response.status_code == 413 and len(parts) > 1:
                # Larger than this collector's bounds: two halves, as the agent's sender does.
                half = len(parts) // 2
                await self._post(runtime, client, parts[:half], result)
                await self._post(runtime, client, parts[half:], result)
                return
            if response.status_code not in _RETRY_STATUS:
                break
        result.failures.append(f"{runtime.agent.key}: {outcome}")
        log.warning(
            "back-fill batch of %s refused after %d attempts: %s",
            runtime.agent.key,
            _ATTEMPTS,
            outcome,
            extra={"agent": runtime.agent.key, "error": outcome},
        )
