"""Runs a simulated fleet against a collector URL (or transport) on an injected clock.

Every simulated agent is real agent machinery: its own :class:`agent.spool.Spool` and
:class:`agent.sender.Sender`, enrolled with a one-time token, posting to ``/api/v1/reports``. A
site whose link is down gets a transport that refuses to connect, so its agents keep spooling and
replay when the link returns, exactly as on a commune PC.

A switched-off PC neither measures nor sends: what it spooled waits for its next start. When the
collector's own uplink is down, no agent of any commune gets through.

Back-fill (:mod:`sim.backfill`) generates history fast through the same HTTP ingest. The live run
(:meth:`Driver.run`) paces steps on a :class:`sim.clock.SimClock` and holds that clock at each
step's time until the step's reports are delivered, so a slow machine slows the simulation down
instead of letting the collector's clock outrun reports still on their way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import TypeAdapter
from sqlalchemy import Engine

from agent.clock import Clock
from agent.sender import Sender, SendError
from agent.spool import Spool
from agent.wire import DeviceReport
from alerts.calendar import WorkingCalendar
from collector import agents
from sim.backfill import BACKFILL_CONCURRENCY, BackfillResult, History
from sim.behaviour import Behaviour
from sim.clock import SimClock
from sim.counter import AGENT_VERSION
from sim.faults import Fault, FaultView
from sim.fleet import Fleet, SimAgent
from sim.runtime import SimRuntime

__all__ = [
    "BACKFILL_CONCURRENCY",
    "BackfillResult",
    "Driver",
    "SimClock",
    "SimRuntime",
    "StepResult",
    "utc_minute",
]

log = logging.getLogger(__name__)

IDENTITIES_FILE = "sim-agents.json"
_CONNECTIONS_PER_CLIENT = 4
_YIELD_EVERY = 25  # agents measured and spooled between two turns of the event loop
_DEVICES: TypeAdapter[list[DeviceReport]] = TypeAdapter(list[DeviceReport])
Pause = Callable[[float], Awaitable[None]]
"""Waits some real seconds (the live run's pacing; tests advance a fake real clock instead)."""


@dataclass
class _LinkState:
    """Which communes' links are down now, whether the collector's uplink is, and the commune
    of each agent token."""

    commune_of_token: dict[str, str] = field(default_factory=dict)
    down: frozenset[str] = frozenset()
    everywhere: bool = False


class _SiteLinks(httpx.AsyncBaseTransport):
    """Refuses connections from agents of communes whose link is down (by their bearer token),
    and from every agent while the collector's uplink is down."""

    def __init__(self, inner: httpx.AsyncBaseTransport, state: _LinkState) -> None:
        self._inner = inner
        self._state = state

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "")[7:]
        commune = self._state.commune_of_token.get(token)
        if commune is not None and self._state.everywhere:
            raise httpx.ConnectError("simulated collector uplink down", request=request)
        if commune is not None and commune in self._state.down:
            raise httpx.ConnectError(f"simulated link down at commune {commune}", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class StepResult:
    """What one live step did."""

    at: datetime
    reports: int = 0
    sent: int = 0
    send_failures: int = 0


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
        calendar: WorkingCalendar | None = None,
    ) -> None:
        """``calendar``: the working calendar the counter PCs live by (default: the bundled
        one; give the collector's own when it has another)."""
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
            fleet, fleet.seed if seed is None else seed, start or clock.now(), calendar
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
        sent_clock: Clock | None = None,
    ) -> BackfillResult:
        """Post every agent's reports from ``start`` to ``end`` (exclusive), fault-free.

        ``progress`` is called with the number of agents finished so far; ``only`` limits the
        back-fill to some agents (the benchmark samples the fleet); ``concurrency`` agents post
        at once; ``base_url`` sends the history to another collector process than the live run's
        (the demo back-fills through a separate ingest process), whose clock ``sent_clock``
        reads (default: the driver's clock) so that it sees no skew to correct.
        """
        clients = self._clients if base_url is None else self._make_clients(base_url, concurrency)
        history = History(
            self.behaviour,
            clients,
            sent_clock=sent_clock or self.clock,
            retry_seconds=self.backfill_retry_seconds,
        )
        try:
            targets = self.runtimes if only is None else only
            return await history.post(targets, start, end, step_seconds, concurrency, progress)
        finally:
            if base_url is not None:
                for client in clients:
                    await client.aclose()

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
        """Measure every agent at ``at`` (default: now), spool the reports, then send what the
        agents that are on have spooled (a switched-off PC sends nothing until it starts)."""
        at = at or self.clock.now()
        view = FaultView.at(self.faults, at)
        self._links.down = view.link_down
        self._links.everywhere = view.uplink_down
        result = StepResult(at=at)
        running: list[SimRuntime] = []
        for index, runtime in enumerate(self.runtimes):
            assert runtime.spool is not None, "open_spools() first"
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                # A province's step is seconds of synchronous work (a report and a spool commit
                # per agent); whatever else runs on this event loop (a collector served in
                # process, as in tests) answers meanwhile.
                await asyncio.sleep(0)
            devices = self.behaviour.agent_report(runtime.agent, at, self.interval, view)
            if devices is None:
                continue
            # One validation per report, in pydantic-core: the dicts were built without models.
            runtime.spool.append(at, _DEVICES.validate_python(devices))
            result.reports += 1
            running.append(runtime)
        outcomes = await asyncio.gather(*(self._send(runtime) for runtime in running))
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
        self,
        stop: asyncio.Event,
        on_step: Callable[[StepResult], None] | None = None,
        *,
        after_step: Callable[[StepResult], Awaitable[None]] | None = None,
        pause: Pause | None = None,
    ) -> None:
        """Step every ``interval`` simulated seconds until ``stop`` is set.

        The clock is held at each step's time until the step's reports are delivered, then let
        run to the next step's: however slow the machine, the collector never sees a time
        whose reports are still on their way. ``on_step`` and ``after_step`` (awaited; e.g. an
        alert sweep) run after each step, before the clock moves on; ``pause`` waits real
        seconds (default: on ``stop``).
        """
        clock = self.clock
        if not isinstance(clock, SimClock):
            raise TypeError("run() paces by a SimClock; tests call step() with a fake clock")

        async def until_stopped(seconds: float) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

        wait = pause or until_stopped
        next_at = clock.now().replace(microsecond=0)
        clock.hold(next_at)
        try:
            while not stop.is_set():
                delay = clock.real_seconds_until(next_at)
                if delay > 0:
                    await wait(delay)
                    continue
                result = await self.step(next_at)
                if on_step is not None:
                    on_step(result)
                if after_step is not None:
                    await after_step(result)
                next_at += timedelta(seconds=self.interval)
                clock.hold(next_at)  # delivered: the clock may run on to the next step
        finally:
            clock.hold(None)

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
