"""Runs a simulated fleet against a collector URL (or transport) on an injected clock.

Every simulated agent is real agent machinery: its own :class:`agent.spool.Spool` and
:class:`agent.sender.Sender`, enrolled with a one-time token, posting to ``/api/v1/reports``. A
site whose link is down gets a transport that refuses to connect, so its agents keep spooling and
replay when the link returns, exactly as on a commune PC.

Back-fill generates history fast through the same HTTP ingest: each agent's history is posted in
large batches straight from the behaviour dicts (no spool: the reports would only pass through it),
then the agent's spool is started at the next sequence number so the live run continues the
sequence without a gap or a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from pydantic import TypeAdapter
from sqlalchemy import Engine

from agent.checks.base import Clock, SystemClock
from agent.sender import Sender, SendError
from agent.spool import Spool
from agent.wire import MAX_REPORTS_PER_BATCH, SCHEMA_VERSION, DeviceReport
from collector import agents
from collector.sim.behaviour import Behaviour, FaultView
from collector.sim.fleet import Fleet, SimAgent
from collector.sim.scenario import Fault

log = logging.getLogger(__name__)

AGENT_VERSION = "sim-0.1"
IDENTITIES_FILE = "sim-agents.json"
# Stay well under the collector's 64 MiB decompressed-body guard with one back-fill POST.
BACKFILL_MAX_BODY = 16 * 1024 * 1024
_CONNECTIONS_PER_CLIENT = 4
# Agents back-filling at once. Each POST carries up to a month of one agent's reports: a few in
# flight keep the collector busy, while many only make its queue (and every ack) longer.
BACKFILL_CONCURRENCY = 8
# A back-fill POST that times out or is refused as overloaded is sent again, a bounded number of
# times; the collector stores each (agent, sequence) once, so a resend never duplicates.
_BACKFILL_ATTEMPTS = 6
_RETRY_STATUS = frozenset({408, 429, 503})
_DEVICES: TypeAdapter[list[DeviceReport]] = TypeAdapter(list[DeviceReport])


class SimClock:
    """Simulated time: starts at ``start`` and runs ``speed`` times as fast as ``real``."""

    def __init__(self, start: datetime, speed: float = 1.0, real: Clock | None = None) -> None:
        self._real = real or SystemClock()
        self._start = start
        self._speed = speed
        self._origin = self._real.monotonic()
        self._elapsed = 0.0  # simulated seconds before the last change of speed

    def set_speed(self, speed: float) -> None:
        """Run ``speed`` times as fast as the real clock from now on; time so far is kept.

        The demo back-fills history at speed 1, so that the separate ingest process, which
        reads the real clock, sees no clock skew; the live run is then compressed.
        """
        self._elapsed = self.monotonic()
        self._origin = self._real.monotonic()
        self._speed = speed

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """The simulated wall clock (UTC)."""
        return self._start + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        """Simulated seconds since the start."""
        return self._elapsed + (self._real.monotonic() - self._origin) * self._speed

    def real_seconds_until(self, when: datetime) -> float:
        """Real seconds to wait until the simulated clock reaches ``when``."""
        return max(0.0, (when - self.now()).total_seconds() / self._speed)


@dataclass
class _LinkState:
    """Which communes' links are down now, and the commune of each agent token."""

    commune_of_token: dict[str, str] = field(default_factory=dict)
    down: frozenset[str] = frozenset()


class _SiteLinks(httpx.AsyncBaseTransport):
    """Refuses connections from agents of communes whose link is down (by their bearer token)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, state: _LinkState) -> None:
        self._inner = inner
        self._state = state

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "")[7:]
        commune = self._state.commune_of_token.get(token)
        if commune is not None and commune in self._state.down:
            raise httpx.ConnectError(f"simulated link down at commune {commune}", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class SimRuntime:
    """One simulated agent at run time: identity, spool and sender."""

    agent: SimAgent
    agent_id: str
    token: str
    next_seq: int = 1  # before the spool exists: the first sequence the spool will use
    spool: Spool | None = None
    sender: Sender | None = None
    max_depth: int = 0
    lane: int = 0  # which of the driver's HTTP clients it uses


@dataclass
class StepResult:
    """What one live step did."""

    at: datetime
    reports: int = 0
    sent: int = 0
    send_failures: int = 0


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


class Driver:
    """Drives a fleet: enrol, back-fill, then live steps on the injected clock."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        base_url: str,
        spool_dir: Path,
        clock: Clock,
        faults: tuple[Fault, ...] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        interval_seconds: float = 60.0,
        concurrency: int = 64,
        seed: int | None = None,
        start: datetime | None = None,
        backfill_retry_seconds: float = 0.5,
    ) -> None:
        self.fleet = fleet
        # First pause before a back-fill POST is resent; it doubles on each further attempt.
        self.backfill_retry_seconds = backfill_retry_seconds
        self.clock = clock
        self.faults = faults
        self.interval = interval_seconds
        self._spool_dir = spool_dir
        self._links = _LinkState()
        # Several small clients rather than one with a big pool: httpcore scans its whole pool for
        # every queued request, which made one 64-connection client cost more CPU than the rest
        # of the simulation. Agents are spread over the clients (a PC has its own client anyway).
        self._transport = transport
        self._clients = self._make_clients(base_url, max(1, concurrency // _CONNECTIONS_PER_CLIENT))
        self._client = self._clients[0]
        self._semaphore = asyncio.Semaphore(concurrency)
        self.behaviour = Behaviour(
            fleet, fleet.seed if seed is None else seed, start or clock.now()
        )
        self.runtimes: list[SimRuntime] = []

    def _make_clients(self, base_url: str, lanes: int) -> list[httpx.AsyncClient]:
        return [
            httpx.AsyncClient(
                base_url=base_url,
                transport=_SiteLinks(
                    self._transport
                    or httpx.AsyncHTTPTransport(
                        limits=httpx.Limits(max_connections=_CONNECTIONS_PER_CLIENT)
                    ),
                    self._links,
                ),
                timeout=60.0,
            )
            for _ in range(lanes)
        ]

    # -- identities ---------------------------------------------------------------------------

    def enrol(self, engine: Engine) -> None:
        """Enrol every agent directly on the store (as an admin would, then the agent)."""
        now = self.clock.now()
        for agent in self.fleet.agents:
            token = agents.create_enrol_token(
                engine, agent.commune_code, now, timedelta(hours=1), note=agent.key
            )
            enrolment = agents.enrol(engine, token, agent.hostname, AGENT_VERSION, now)
            self._add(SimRuntime(agent, enrolment.agent_id, enrolment.agent_token))

    async def enrol_via_api(self, enrol_token: Callable[[SimAgent], Awaitable[str]]) -> None:
        """Enrol every agent through ``POST /api/v1/enrol`` with tokens from ``enrol_token``."""
        for agent in self.fleet.agents:
            response = await self._client.post(
                "/api/v1/enrol",
                json={
                    "token": await enrol_token(agent),
                    "hostname": agent.hostname,
                    "agent_version": AGENT_VERSION,
                },
            )
            response.raise_for_status()
            body = response.json()
            self._add(SimRuntime(agent, body["agent_id"], body["agent_token"]))

    def _client_of(self, runtime: SimRuntime) -> httpx.AsyncClient:
        return self._clients[runtime.lane % len(self._clients)]

    def _add(self, runtime: SimRuntime) -> None:
        runtime.lane = len(self.runtimes)
        self.runtimes.append(runtime)
        self._links.commune_of_token[runtime.token] = runtime.agent.commune_code

    @property
    def agents_by_id(self) -> dict[str, SimAgent]:
        """The simulated agent behind each enrolled agent id."""
        return {runtime.agent_id: runtime.agent for runtime in self.runtimes}

    def save_identities(self, path: Path) -> None:
        """Keep agent ids and tokens (the demo's data dir) so a restart reuses the agents."""
        rows = {r.agent.key: {"agent_id": r.agent_id, "token": r.token} for r in self.runtimes}
        path.write_text(json.dumps(rows), encoding="utf-8")
        path.chmod(0o600)

    def load_identities(self, path: Path) -> bool:
        """Reuse saved identities; False if the file is missing or does not match the fleet."""
        if not path.is_file():
            return False
        rows = json.loads(path.read_text(encoding="utf-8"))
        if set(rows) != {agent.key for agent in self.fleet.agents}:
            return False
        for agent in self.fleet.agents:
            self._add(SimRuntime(agent, rows[agent.key]["agent_id"], rows[agent.key]["token"]))
        return True

    # -- back-fill ----------------------------------------------------------------------------

    async def backfill(
        self,
        start: datetime,
        end: datetime,
        step_seconds: float = 3600.0,
        progress: Callable[[int], None] | None = None,
        only: Sequence[SimRuntime] | None = None,
        concurrency: int = BACKFILL_CONCURRENCY,
        base_url: str | None = None,
    ) -> BackfillResult:
        """Post every agent's reports from ``start`` to ``end`` (exclusive), fault-free.

        ``progress`` is called with the number of agents finished so far; ``only`` limits the
        back-fill to some agents (the benchmark samples the fleet); ``concurrency`` agents post
        at once; ``base_url`` sends the history to another collector process than the live run's
        (the demo back-fills through a separate ingest process).
        """
        clients = self._clients if base_url is None else self._make_clients(base_url, concurrency)
        try:
            return await self._backfill(
                start, end, step_seconds, progress, only, concurrency, clients
            )
        finally:
            if base_url is not None:
                for client in clients:
                    await client.aclose()

    async def _backfill(
        self,
        start: datetime,
        end: datetime,
        step_seconds: float,
        progress: Callable[[int], None] | None,
        only: Sequence[SimRuntime] | None,
        concurrency: int,
        clients: list[httpx.AsyncClient],
    ) -> BackfillResult:
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
            client = clients[runtime.lane % len(clients)]
            async with semaphore:
                await self._backfill_agent(runtime, client, times, step_seconds, quiet, result)
            done += 1
            if progress is not None:
                progress(done)

        targets = self.runtimes if only is None else only
        await asyncio.gather(*(one(runtime) for runtime in targets))
        result.seconds = time.perf_counter() - begun
        return result

    async def _backfill_agent(
        self,
        runtime: SimRuntime,
        client: httpx.AsyncClient,
        times: list[tuple[datetime, str]],
        step_seconds: float,
        quiet: FaultView,
        result: BackfillResult,
    ) -> None:
        parts: list[bytes] = []
        size = 0
        for at, stamp in times:
            devices = self.behaviour.agent_report(runtime.agent, at, step_seconds, quiet)
            if devices is None:
                continue
            part = orjson.dumps({"seq": runtime.next_seq, "measured_at": stamp, "devices": devices})
            runtime.next_seq += 1
            result.samples += sum(len(d["samples"]) for d in devices)  # type: ignore[arg-type,misc]
            parts.append(part)
            size += len(part)
            if len(parts) >= MAX_REPORTS_PER_BATCH or size >= BACKFILL_MAX_BODY:
                await self._post_history(runtime, client, parts, result)
                parts, size = [], 0
            # Yield now and then so that in-flight POSTs of other agents make progress.
            if len(parts) % 50 == 0:
                await asyncio.sleep(0)
        if parts:
            await self._post_history(runtime, client, parts, result)

    async def _post_history(
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
                "sent_at": self.clock.now().isoformat(),
            }
        )
        body = head[:-1] + b',"reports":[' + b",".join(parts) + b"]}"
        compressed = await asyncio.to_thread(gzip.compress, body, 1)
        result.posts += 1
        result.bytes_sent += len(compressed)
        outcome = ""
        for attempt in range(1, _BACKFILL_ATTEMPTS + 1):
            if attempt > 1:
                result.retries += 1
                await asyncio.sleep(min(self.backfill_retry_seconds * 2 ** (attempt - 2), 8.0))
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
            if response.status_code not in _RETRY_STATUS:
                break
        result.failures.append(f"{runtime.agent.key}: {outcome}")
        log.warning("back-fill batch refused", extra={"agent": runtime.agent.key, "error": outcome})

    # -- live ---------------------------------------------------------------------------------

    def open_spools(self) -> None:
        """Open each agent's spool and sender; a new spool continues after the back-fill."""
        self._spool_dir.mkdir(parents=True, exist_ok=True)

        def open_one(runtime: SimRuntime) -> Spool:
            path = self._spool_dir / f"{runtime.agent.key.replace('/', '_')}.db"
            return _open_spool(path, runtime.next_seq)

        # Creating a spool is a few fsyncs: threads overlap them (sqlite3 releases the GIL).
        with ThreadPoolExecutor(max_workers=8) as pool:
            spools = list(pool.map(open_one, self.runtimes))
        for runtime, spool in zip(self.runtimes, spools, strict=True):
            runtime.spool = spool
            runtime.sender = Sender(
                runtime.spool,
                self._client_of(runtime),
                agent_id=runtime.agent_id,
                token=runtime.token,
                clock=self.clock,
                batch_size=500,
            )

    async def step(self, at: datetime | None = None) -> StepResult:
        """Measure every agent at ``at`` (default: now), spool the reports, then send."""
        at = at or self.clock.now()
        view = FaultView.at(self.faults, at)
        self._links.down = view.link_down
        result = StepResult(at=at)
        for runtime in self.runtimes:
            assert runtime.spool is not None, "open_spools() first"
            devices = self.behaviour.agent_report(runtime.agent, at, self.interval, view)
            if devices is None:
                continue
            # One validation per report, in pydantic-core: the dicts were built without models.
            runtime.spool.append(at, _DEVICES.validate_python(devices))
            result.reports += 1
        outcomes = await asyncio.gather(*(self._send(runtime) for runtime in self.runtimes))
        for sent, failed in outcomes:
            result.sent += sent
            result.send_failures += failed
        return result

    async def _send(self, runtime: SimRuntime) -> tuple[int, int]:
        assert runtime.sender is not None
        assert runtime.spool is not None
        async with self._semaphore:
            depth = runtime.spool.stats().depth
            runtime.max_depth = max(runtime.max_depth, depth)
            if depth == 0:
                return 0, 0
            try:
                return await runtime.sender.flush(), 0
            except SendError as exc:
                if not exc.retryable:
                    log.warning(
                        "report refused", extra={"agent": runtime.agent.key, "error": str(exc)}
                    )
                return 0, 1

    async def run(
        self, stop: asyncio.Event, on_step: Callable[[StepResult], None] | None = None
    ) -> None:
        """Step every ``interval`` simulated seconds until ``stop`` is set (real-time pacing)."""
        if not isinstance(self.clock, SimClock):
            raise TypeError("run() paces by a SimClock; tests call step() with a fake clock")
        next_at = self.clock.now()
        while not stop.is_set():
            wait = self.clock.real_seconds_until(next_at)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                continue
            result = await self.step(next_at)
            if on_step is not None:
                on_step(result)
            next_at += timedelta(seconds=self.interval)
            behind = (self.clock.now() - next_at).total_seconds()
            if behind > 5 * self.interval:
                # Too slow for this --speed: skip ahead rather than fall further behind.
                log.warning("simulation behind the clock, skipping", extra={"seconds": behind})
                next_at = self.clock.now()

    async def aclose(self) -> None:
        """Close the HTTP client and every spool."""
        for client in self._clients:
            await client.aclose()
        for runtime in self.runtimes:
            if runtime.spool is not None:
                runtime.spool.close()
                runtime.spool = None


def _open_spool(path: Path, next_seq: int) -> Spool:
    """A spool whose first new report gets ``next_seq``.

    The spool keeps its sequence in its ``meta`` table; a fresh simulated agent whose history was
    back-filled must continue after that history, which a real agent never needs, so the driver
    sets the counter once on a new file instead of widening the agent's Spool API for it.
    """
    fresh = not path.exists()
    spool = Spool(path)
    if fresh and next_seq > 1:
        spool.close()
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (next_seq,))
            db.execute("UPDATE meta SET value = ? WHERE key = 'acked_seq'", (next_seq - 1,))
        db.close()
        spool = Spool(path)
    return spool


def utc_minute(at: datetime) -> datetime:
    """``at`` rounded down to the minute, in UTC (live steps start on a whole minute)."""
    return at.astimezone(UTC).replace(second=0, microsecond=0)
