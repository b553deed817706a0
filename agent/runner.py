"""The agent service: scheduled checks into the spool, a sender loop, heartbeats, central config.

Each configured check is its own apscheduler job (``coalesce``, ``max_instances=1``, a misfire
grace of one interval) and runs under a timeout, so a slow or hung check delays only its own next
run. Every result goes to the durable spool first, stamped with the injected clock; the sender
loop moves the spool to the collector with backoff and jitter. The central configuration is
polled with ``If-None-Match``; a new valid one replaces the jobs without a restart, an invalid one
is rejected as a whole with a log line and an ``agent_config_rejected`` event naming the field.

Tests drive the runner step by step instead of through the scheduler: ``run_checks_once``,
``heartbeat``, ``send_pending`` and ``poll_config`` do one round each, on the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from agent.agent_config import AgentConfig, CheckSpec, default_agent_config
from agent.checks import check_class
from agent.checks.base import Check, Clock, SystemClock
from agent.checks.common import pc_device_id
from agent.collector_client import (
    CollectorClient,
    CollectorUnreachable,
    UrllibCollectorClient,
    as_collector_client,
)
from agent.errors import ConfigRejected
from agent.identity import Identity, agent_version
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
from agent.wire import DeviceKind, DeviceReport, Event, Report, Sample, Severity

if TYPE_CHECKING:
    import httpx
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

HEARTBEAT_JOB = "heartbeat"
CONFIG_JOB = "config-poll"
CHECK_JOB_PREFIX = "check:"
# With nothing new to send, still try this often: reports left after a failed send go out.
IDLE_SEND_SECONDS = 60.0
# On shutdown, give the last send this long; what does not make it stays in the spool.
FINAL_SEND_SECONDS = 5.0
_FILE_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

CheckFactory = Callable[[str, CheckSpec], Check]


def build_check(name: str, spec: CheckSpec, *, clock: Clock, state_dir: Path | None) -> Check:
    """An instance of the check ``spec`` names, configured by its options.

    Checks that keep state across agent restarts (the host check's boot time, for reboot
    detection) take a ``state_path``; they get a file of their own in ``state_dir``.
    """
    cls = check_class(spec.check)
    config = cls.config_model.model_validate(spec.options)
    kwargs: dict[str, Any] = {"clock": clock}
    if state_dir is not None and "state_path" in inspect.signature(cls).parameters:
        kwargs["state_path"] = state_dir / f"check-{_FILE_SAFE.sub('_', name)}.json"
    # The Check protocol says nothing about constructors; every check takes (config, clock=...).
    factory = cast(Callable[..., Check], cls)
    return factory(config, **kwargs)


def _problems(exc: ValidationError) -> list[str]:
    found = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in err["loc"]) or "(top)"
        found.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return found


def parse_central_config(raw: bytes | str, etag: str | None = None) -> AgentConfig:
    """Validate a central configuration; ConfigRejected names every bad field."""
    try:
        return AgentConfig.model_validate_json(raw)
    except ValidationError as exc:
        raise ConfigRejected(_problems(exc), etag) from None


@dataclass(frozen=True)
class CheckRun:
    """One run of one configured check: its devices, or why there are none."""

    name: str
    check: str
    measured_at: datetime
    duration_seconds: float
    devices: list[DeviceReport] = field(default_factory=list)
    error: str | None = None
    error_class: str | None = None  # "timeout" or "error"

    @property
    def ok(self) -> bool:
        """The check finished in time without an internal error."""
        return self.error is None


async def run_check(
    name: str, spec: CheckSpec, check: Check, *, clock: Clock, time_limit: float
) -> CheckRun:
    """Run ``check`` once within ``time_limit`` seconds; never raises for the check's failure."""
    measured_at = clock.now()
    started = clock.monotonic()

    def finished(**kwargs: Any) -> CheckRun:
        duration = max(0.0, clock.monotonic() - started)
        return CheckRun(name, spec.check, measured_at, duration, **kwargs)

    try:
        devices = await asyncio.wait_for(check.collect(), time_limit)
    except TimeoutError:
        return finished(error=f"did not finish within {time_limit:g} s", error_class="timeout")
    except Exception as exc:  # a bug in one check must not stop the others (logged in full)
        log.exception("check raised", extra={"check": name})
        return finished(error=f"{exc.__class__.__name__}: {exc}"[:500], error_class="error")
    return finished(devices=devices)


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
    """The agent's service loop and its step-by-step parts."""

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
        # Check runs under way, so that stopping lets them finish into the spool first.
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._process: Any = None
        self._last_logged_send_error: str | None = None
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
                problems += [f"checks.{name}.options.{p}" for p in _problems(exc)]
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
        if self._scheduler is not None:
            self._reschedule(previous)
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
        self._append_events(
            now,
            [
                Event(
                    type="agent_config_rejected",
                    severity=Severity.WARNING,
                    message=detail[:2000],
                    attrs={"etag": (exc.etag or "")[:100]},
                )
            ],
        )

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
        finally:
            if task is not None:
                self._in_flight.discard(task)
        self._runs[name] = run
        if run.devices:
            self._append(run.measured_at, run.devices)
        if run.error is not None:
            log.warning("check failed", extra={"check": name, "error": run.error})
            self._append_events(
                run.measured_at,
                [
                    Event(
                        type="agent_check_failed",
                        severity=Severity.WARNING,
                        message=f"{name}: {run.error}",
                        attrs={
                            "check": name,
                            "error_class": run.error_class or "error",
                            "detail": run.error[:500],
                        },
                    )
                ],
            )
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

    def _process_samples(self) -> list[Sample]:
        # psutil is there on every PC install (the host check needs it); stay quiet without it.
        if self._process is None:
            try:
                import psutil
            except ImportError:
                self._process = False
                return []
            self._process = psutil.Process(os.getpid())
        if self._process is False:
            return []
        cpu = self._process.cpu_times()
        return [
            Sample(name="agent_resident_memory_bytes", value=self._process.memory_info().rss),
            Sample(name="agent_cpu_seconds_total", value=cpu.user + cpu.system),
        ]

    def heartbeat(self) -> Report:
        """Spool one heartbeat: the agent is up, its spool (depth, drops) and its checks."""
        now = self._clock.now()
        stats = self.spool.stats()
        samples = [
            Sample(name="agent_up", value=1.0),
            Sample(name="agent_spool_reports", value=stats.depth),
            Sample(name="agent_spool_bytes", value=stats.bytes),
            Sample(name="agent_spool_dropped_total", value=stats.dropped_total),
        ]
        if stats.oldest_measured_at is not None:
            age = max(0.0, (now - stats.oldest_measured_at).total_seconds())
            samples.append(Sample(name="agent_spool_oldest_age_seconds", value=age))
        for name, run in self._runs.items():
            labels = {"check": name[:200]}
            samples.append(Sample(name="agent_check_success", value=float(run.ok), labels=labels))
            samples.append(
                Sample(
                    name="agent_check_duration_seconds",
                    value=run.duration_seconds,
                    labels=labels,
                )
            )
        samples += self._process_samples()
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

    def _save_state(self) -> None:
        try:
            save_state(self.settings.state_path, self.state)
        except OSError as exc:
            log.warning("cannot write state file", extra={"error": str(exc)})

    def _add_check_job(self, name: str, spec: CheckSpec) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        assert self._scheduler is not None
        self._scheduler.add_job(
            self.run_check,
            IntervalTrigger(seconds=spec.interval, timezone=UTC),
            args=[name],
            id=CHECK_JOB_PREFIX + name,
            name=f"check {name}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # A run later than one interval is superseded by the next one anyway.
            misfire_grace_time=max(1, math.ceil(spec.interval)),
            next_run_time=datetime.now(UTC),
        )

    def _add_heartbeat_job(self) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        assert self._scheduler is not None
        seconds = self._config.heartbeat_seconds
        self._scheduler.add_job(
            self._heartbeat_job,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=HEARTBEAT_JOB,
            name="heartbeat",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, math.ceil(seconds)),
            next_run_time=datetime.now(UTC),
        )

    def _reschedule(self, previous: AgentConfig) -> None:
        assert self._scheduler is not None
        for name in previous.checks:
            if name not in self._config.checks:
                with contextlib.suppress(LookupError):  # JobLookupError is a KeyError
                    self._scheduler.remove_job(CHECK_JOB_PREFIX + name)
        for name, spec in self._config.checks.items():
            if previous.checks.get(name) != spec:
                self._add_check_job(name, spec)
        if previous.heartbeat_seconds != self._config.heartbeat_seconds:
            self._add_heartbeat_job()

    def scheduled_jobs(self) -> dict[str, float]:
        """Job id → interval in seconds of what the scheduler runs (empty when not running)."""
        if self._scheduler is None:
            return {}
        return {job.id: job.trigger.interval.total_seconds() for job in self._scheduler.get_jobs()}

    def start_scheduler(self, *, paused: bool = False) -> AsyncIOScheduler:
        """Create and start the scheduler on the running loop with every job."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler = scheduler
        for name, spec in self._config.checks.items():
            self._add_check_job(name, spec)
        self._add_heartbeat_job()
        poll = self.settings.config_poll_seconds
        scheduler.add_job(
            self.poll_config,
            # Jitter spreads a province's agents so they do not poll in step after a restart.
            IntervalTrigger(seconds=poll, jitter=poll / 10, timezone=UTC),
            id=CONFIG_JOB,
            name="config poll",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, math.ceil(poll)),
            next_run_time=datetime.now(UTC),
        )
        scheduler.start(paused=paused)
        return scheduler

    def stop_scheduler(self) -> None:
        """Stop scheduling (running jobs finish on their own)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def _sleep(self, seconds: float, stop: asyncio.Event) -> None:
        # The service's own pacing; returns early when asked to stop.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    async def _sender_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_SEND_SECONDS)
            if stop.is_set():
                return
            # Let reports of the same moment (several jobs firing together) share one batch.
            await self._sleep(self.settings.send_delay_seconds, stop)
            self._wake.clear()
            outcome = await self.send_pending()
            while outcome.error is not None and not stop.is_set():
                await self._sleep(outcome.retry_in, stop)
                outcome = await self.send_pending()

    async def run(self, stop: asyncio.Event) -> None:
        """Run the service until ``stop`` is set; the spool keeps whatever is unsent."""
        now = self._clock.now()
        self.state.pid = os.getpid()
        self.state.started_at = now
        self._save_state()
        self._append_events(
            now,
            [
                Event(
                    type="agent_started",
                    message=f"commune-agent {agent_version()} started",
                    attrs={
                        "version": agent_version(),
                        "config_source": self.state.config_source,
                        "config_etag": self.state.config_etag or "",
                    },
                )
            ],
        )
        log.info(
            "agent started",
            extra={
                "agent_id": self.identity.agent_id,
                "server": self._client.base_url,
                "checks": ",".join(self.check_names),
            },
        )
        self.start_scheduler()
        sender = asyncio.get_running_loop().create_task(self._sender_loop(stop), name="sender")
        try:
            await stop.wait()
        finally:
            if self._scheduler is not None:
                self._scheduler.pause()  # no new runs; shutting down would cancel running ones
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            if self._in_flight:
                # A check measuring right now spools its report before the last send; one that
                # hangs is cancelled below (its run is simply lost, nothing half-written).
                await asyncio.wait(set(self._in_flight), timeout=FINAL_SEND_SECONDS)
            self.stop_scheduler()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.send_pending(), FINAL_SEND_SECONDS)
            self._save_state()
            log.info("agent stopped", extra={"spool_depth": self.spool.stats().depth})

    def close(self) -> None:
        """Close the spool."""
        self.spool.close()
