"""The agent's steps: checks into the spool, heartbeats, sending, central config, the scheduler.

Each configured check is its own apscheduler job (``coalesce``, ``max_instances=1``, a misfire
grace of one interval) and runs under a timeout, so a slow or hung check delays only its own next
run. Every result goes to the durable spool first, stamped with the injected clock; the sender
loop moves the spool to the collector with backoff and jitter. The central configuration is
polled with ``If-None-Match``; a new valid one replaces the jobs without a restart, an invalid one
is rejected as a whole with a log line and an ``agent_config_rejected`` event naming the field.

Tests drive the runner step by step instead of through the scheduler: ``run_checks_once``,
``heartbeat``, ``send_pending`` and ``poll_config`` do one round each, on the injected clock.
The service loop around them, with its start and clean stop, is ``agent.service_loop``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agent.agent_config import (
    AgentConfig,
    default_agent_config,
    parse_central_config,
    validation_problems,
)
from agent.check_run import CheckFactory, CheckRun, build_check, run_check
from agent.checks.base import Check
from agent.checks.common import pc_device_id
from agent.clock import Clock, SystemClock
from agent.collector_client import (
    CollectorClient,
    CollectorUnreachable,
    UrllibCollectorClient,
    as_collector_client,
)
from agent.errors import ConfigRejected
from agent.identity import Identity, agent_version
from agent.scheduling import JobSchedule
from agent.self_report import (
    ProcessMeter,
    check_failed_event,
    config_rejected_event,
    heartbeat_samples,
)
from agent.sender import Backoff, Sender, SendError
from agent.settings import AgentSettings, tls_context
from agent.spool import Spool
from agent.state import (
    AgentState,
    CachedConfig,
    load_cached_config,
    load_state,
    save_cached_config,
    save_state,
)
from agent.wire import DeviceKind, DeviceReport, Event, Report

if TYPE_CHECKING:
    import httpx
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendOutcome:
    """What one ``send_pending`` round did; ``retry_in`` is the backoff before the next try."""

    sent: int
    error: str | None = None
    retryable: bool = True
    retry_in: float = 0.0


def make_client(settings: AgentSettings, identity: Identity) -> CollectorClient:
    """The service's client to the collector: TLS verified (or pinned), a bounded timeout."""
    return UrllibCollectorClient(
        settings.server_url or identity.server_url,
        ssl_context=tls_context(settings, identity.ca_file),
        timeout=settings.http_timeout_seconds,
        headers={"User-Agent": f"commune-agent/{agent_version()}"},
    )


class AgentRunner:
    """The agent's step-by-step parts (``agent.service_loop.AgentService`` runs them)."""

    def __init__(
        self,
        settings: AgentSettings,
        identity: Identity,
        *,
        client: CollectorClient | httpx.AsyncClient,
        clock: Clock | None = None,
        spool: Spool | None = None,
        config: AgentConfig | None = None,
        check_factory: CheckFactory | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``config``: run this instead of the cached central (or default) configuration.

        ``client``: the service passes ``make_client``'s; tests an httpx client on their transport.
        """
        self.settings = settings
        self.identity = identity
        self._client = as_collector_client(client)
        self._clock: Clock = clock or SystemClock()
        self.spool = spool or Spool(
            settings.spool_path,
            max_bytes=settings.spool_max_bytes,
            max_age=timedelta(days=settings.spool_max_age_days),
        )
        self.sender = Sender(
            self.spool,
            self._client,
            agent_id=identity.agent_id,
            token=identity.agent_token.get_secret_value(),
            clock=self._clock,
            batch_size=settings.batch_size,
        )
        self.backoff = Backoff(rng=rng)
        self.state: AgentState = load_state(settings.state_path)
        if self.state.last_acked_seq is not None:
            # A spool started afresh must not reuse sequences the collector already holds.
            self.spool.ensure_next_seq(self.state.last_acked_seq + 1)
        self._factory: CheckFactory = check_factory or (
            lambda name, spec: build_check(
                name, spec, clock=self._clock, state_dir=settings.data_dir
            )
        )
        self._device_id = pc_device_id(settings.device_id)
        self._config = AgentConfig()
        self._checks: dict[str, Check] = {}
        self._runs: dict[str, CheckRun] = {}
        self._seen_etag: str | None = None  # last ETag received, applied or rejected
        self._wake = asyncio.Event()
        # Check runs and config polls under way: a stop lets them spool what they found before
        # the goodbye, and cancels those still running then.
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._schedule: JobSchedule | None = None
        self._meter = ProcessMeter()
        self._last_logged_send_error: str | None = None
        # Set by a stop under way (``agent.service_loop``): runs cancelled then end quietly.
        self._stopping = False
        self._load_initial_config(config)

    # -- configuration

    @property
    def config(self) -> AgentConfig:
        """The configuration in force."""
        return self._config

    @property
    def check_names(self) -> list[str]:
        """Names of the configured checks, in configuration order."""
        return list(self._config.checks)

    def _load_initial_config(self, config: AgentConfig | None) -> None:
        if config is not None:
            self.apply_config(config, etag=None, source="explicit")
            return
        cached = load_cached_config(self.settings.central_config_path)
        if cached is not None:
            try:
                self.apply_config(cached.config, etag=cached.etag, source="cache")
                self._seen_etag = cached.etag
                return
            except ConfigRejected as exc:
                log.warning(
                    "cached central config cannot run; using the default",
                    extra={"problems": str(exc)},
                )
        self.apply_config(default_agent_config(), etag=None, source="default")

    def apply_config(self, config: AgentConfig, *, etag: str | None, source: str) -> None:
        """Make ``config`` the one in force, or raise ConfigRejected and change nothing.

        Checks whose spec did not change keep their instance (and so their rate counters and
        reboot detection); changed and new ones are built first, so a failure leaves the old set.
        """
        built: dict[str, Check] = {}
        problems: list[str] = []
        for name, spec in config.checks.items():
            if self._config.checks.get(name) == spec and name in self._checks:
                built[name] = self._checks[name]
                continue
            try:
                built[name] = self._factory(name, spec)
            except ValidationError as exc:
                problems += [f"checks.{name}.options.{p}" for p in validation_problems(exc)]
            except Exception as exc:  # noqa: BLE001 - any failure to build rejects the config
                problems.append(f"checks.{name}: {exc.__class__.__name__}: {exc}")
        if problems:
            raise ConfigRejected(problems, etag)
        previous = self._config
        self._config, self._checks = config, built
        self._runs = {name: run for name, run in self._runs.items() if name in built}
        self.state.check_errors = {
            name: error for name, error in self.state.check_errors.items() if name in built
        }
        self.state.config_source = source
        self.state.config_etag = etag
        self.state.config_applied_at = self._clock.now()
        if self._schedule is not None:
            self._schedule.reschedule(previous, config)
        if source == "central":
            save_cached_config(
                self.settings.central_config_path, CachedConfig(etag=etag, config=config)
            )
        self._save_state()
        log.info(
            "config applied",
            extra={"source": source, "etag": etag, "checks": ",".join(config.checks)},
        )

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.identity.agent_token.get_secret_value()}"}

    async def poll_config(self) -> bool:
        """Fetch the central configuration if it changed; True when a new one was applied."""
        headers = self._auth()
        if self._seen_etag:
            headers["If-None-Match"] = self._seen_etag
        try:
            response = await self._client.get(
                f"/api/v1/agents/{self.identity.agent_id}/config", headers=headers
            )
        except CollectorUnreachable as exc:
            # Connectivity is the sender's story (it records and backs off); just try next poll.
            log.debug("config poll failed", extra={"error": str(exc)})
            return False
        if response.status_code == 304:
            return False
        etag = response.header("ETag")
        if response.status_code != 200:
            log.warning(
                "config poll refused",
                extra={"status": response.status_code, "detail": response.text[:200]},
            )
            return False
        try:
            config = parse_central_config(response.content, etag)
            self.apply_config(config, etag=etag, source="central")
        except ConfigRejected as exc:
            # Remember the ETag: the collector answers 304 to it, so one bad config is one
            # rejection, not one per poll.
            self._seen_etag = etag
            self._reject(exc)
            return False
        self._seen_etag = etag
        return True

    def _reject(self, exc: ConfigRejected) -> None:
        detail = "; ".join(exc.problems)
        log.error(
            "central config rejected; the previous configuration stays in force",
            extra={"etag": exc.etag, "problems": detail},
        )
        now = self._clock.now()
        self.state.last_config_error = f"etag {exc.etag}: {detail}"[:2000]
        self.state.last_config_error_at = now
        self._save_state()
        self._append_events(now, [config_rejected_event(detail, exc.etag)])

    # -- measuring

    def _append(self, measured_at: datetime, devices: list[DeviceReport]) -> Report:
        report = self.spool.append(measured_at, devices)
        self._wake.set()
        return report

    def _append_events(self, at: datetime, events: list[Event]) -> Report:
        device = DeviceReport(device_id=self._device_id, kind=DeviceKind.PC, events=events)
        return self._append(at, [device])

    async def run_check(self, name: str) -> CheckRun | None:
        """Run configured check ``name`` once and spool its report (None: no longer configured)."""
        check, spec = self._checks.get(name), self._config.checks.get(name)
        if check is None or spec is None:
            return None
        limit = max(spec.interval, self.settings.check_timeout_seconds)
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            run = await run_check(name, spec, check, clock=self._clock, time_limit=limit)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cancelled by the stop so that the goodbye is the last report; ending the job
            # quietly keeps apscheduler from logging the cancellation as a crash.
            log.info("check cancelled by the stop", extra={"check": name})
            return None
        finally:
            if task is not None:
                self._in_flight.discard(task)
        self._runs[name] = run
        if run.devices:
            self._append(run.measured_at, run.devices)
        if run.error is not None:
            log.warning("check failed", extra={"check": name, "error": run.error})
            self._append_events(run.measured_at, [check_failed_event(name, run)])
            if self.state.check_errors.get(name) != run.error:
                self.state.check_errors[name] = run.error
                self._save_state()
        elif self.state.check_errors.pop(name, None) is not None:
            self._save_state()
        return run

    async def run_checks_once(self) -> list[CheckRun]:
        """Run every configured check once, concurrently, spooling each result."""
        runs = await asyncio.gather(*(self.run_check(name) for name in self.check_names))
        return [run for run in runs if run is not None]

    def heartbeat(self) -> Report:
        """Spool one heartbeat: the agent is up, its spool (depth, drops) and its checks."""
        now = self._clock.now()
        samples = heartbeat_samples(self.spool.stats(), self._runs, now)
        samples += self._meter.samples()
        device = DeviceReport(
            device_id=self._device_id,
            kind=DeviceKind.PC,
            samples=samples,
            facts={"agent_version": agent_version()},
        )
        return self._append(now, [device])

    async def _heartbeat_job(self) -> None:
        # A coroutine so apscheduler runs it on the loop, not in a worker thread (the wake-up
        # event of the sender loop is not thread-safe).
        self.heartbeat()

    async def _poll_config_job(self) -> None:
        # Tracked like a check run: a rejection it spools must come before the goodbye.
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self.poll_config()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        finally:
            if task is not None:
                self._in_flight.discard(task)

    # -- sending

    async def send_pending(self) -> SendOutcome:
        """Send everything spooled, oldest first, until empty or a send fails."""
        sent = 0
        try:
            while True:
                removed = await self.sender.send_once()
                if removed == 0:
                    break
                sent += removed
        except SendError as exc:
            return self._send_failed(exc, sent)
        self.backoff.reset()
        ack = self.sender.last_ack
        if sent and ack is not None:
            self.state.last_ack_at = self._clock.now()
            self.state.last_acked_seq = ack.acked_seq
            if self.state.last_send_error is not None:
                log.info("collector reachable again", extra={"acked_seq": ack.acked_seq})
            self.state.last_send_error = None
            self.state.send_failures = 0
            self._last_logged_send_error = None
            self._save_state()
        return SendOutcome(sent=sent)

    def _send_failed(self, exc: SendError, sent: int) -> SendOutcome:
        if exc.status == 413 and self.sender.batch_size > 1:
            # The collector's body limit is smaller than our batch: halve it and go again.
            self.sender.batch_size = max(1, self.sender.batch_size // 2)
            log.warning("batch too large; halving", extra={"batch_size": self.sender.batch_size})
            return SendOutcome(sent=sent, error=str(exc), retryable=True, retry_in=0.0)
        # Not retryable (revoked token, refused sequence): hold, and look again after the cap,
        # in case an admin fixed it; the spool keeps every report meanwhile.
        delay = self.backoff.next_delay() if exc.retryable else self.backoff.cap
        self.state.last_send_error = str(exc)[:500]
        self.state.last_send_error_at = self._clock.now()
        self.state.send_failures += 1
        self._save_state()
        if str(exc) != self._last_logged_send_error:
            self._last_logged_send_error = str(exc)
            if exc.retryable:
                log.warning(
                    "send failed; reports stay in the spool",
                    extra={"error": str(exc)[:300], "retry_in": round(delay, 1)},
                )
            else:
                log.error(
                    "collector refused the reports; holding them (needs an admin)",
                    extra={"error": str(exc)[:300], "status": exc.status},
                )
        return SendOutcome(sent=sent, error=str(exc), retryable=exc.retryable, retry_in=delay)

    # -- the service

    def _save_state(self, *, durable: bool = False) -> None:
        try:
            save_state(self.settings.state_path, self.state, durable=durable)
        except OSError as exc:
            log.warning("cannot write state file", extra={"error": str(exc)})

    def scheduled_jobs(self) -> dict[str, float]:
        """Job id → interval in seconds of what the scheduler runs (empty when not running)."""
        return {} if self._schedule is None else self._schedule.jobs()

    def start_scheduler(self, *, paused: bool = False) -> AsyncIOScheduler:
        """Create and start the scheduler on the running loop with every job."""
        self._schedule = JobSchedule(
            run_check=self.run_check,
            heartbeat=self._heartbeat_job,
            poll_config=self._poll_config_job,
            config_poll_seconds=self.settings.config_poll_seconds,
        )
        return self._schedule.start(self._config, paused=paused)

    def stop_scheduler(self) -> None:
        """Stop scheduling (running jobs finish on their own)."""
        if self._schedule is not None:
            self._schedule.shutdown()
            self._schedule = None

    def close(self) -> None:
        """Close the spool."""
        self.spool.close()
