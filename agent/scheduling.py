"""The agent service's apscheduler jobs: one per configured check, the heartbeat, the config poll.

Each check is its own job (``coalesce``, ``max_instances=1``, a misfire grace of one interval), so
a slow or hung check delays only its own next run; a new central configuration replaces only the
jobs whose spec changed. apscheduler is imported here only, when the service starts.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.agent_config import AgentConfig, CheckSpec

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

HEARTBEAT_JOB = "heartbeat"
CONFIG_JOB = "config-poll"
CHECK_JOB_PREFIX = "check:"


class JobSchedule:
    """The running scheduler of one agent and the jobs it holds."""

    def __init__(
        self,
        *,
        run_check: Callable[[str], Awaitable[Any]],
        heartbeat: Callable[[], Awaitable[None]],
        poll_config: Callable[[], Awaitable[Any]],
        config_poll_seconds: float,
    ) -> None:
        """The callables are the agent's one-round steps; each job calls one of them."""
        self._run_check = run_check
        self._heartbeat = heartbeat
        self._poll_config = poll_config
        self._config_poll_seconds = config_poll_seconds
        self._scheduler: AsyncIOScheduler | None = None

    def _add_check_job(self, name: str, spec: CheckSpec) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        assert self._scheduler is not None
        self._scheduler.add_job(
            self._run_check,
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

    def _add_heartbeat_job(self, seconds: float) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        assert self._scheduler is not None
        self._scheduler.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=HEARTBEAT_JOB,
            name="heartbeat",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, math.ceil(seconds)),
            next_run_time=datetime.now(UTC),
        )

    def start(self, config: AgentConfig, *, paused: bool = False) -> AsyncIOScheduler:
        """Create and start the scheduler on the running loop with every job of ``config``."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler = scheduler
        for name, spec in config.checks.items():
            self._add_check_job(name, spec)
        self._add_heartbeat_job(config.heartbeat_seconds)
        poll = self._config_poll_seconds
        scheduler.add_job(
            self._poll_config,
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

    def reschedule(self, previous: AgentConfig, current: AgentConfig) -> None:
        """Replace the jobs whose spec changed from ``previous`` to ``current``; drop the gone."""
        assert self._scheduler is not None
        for name in previous.checks:
            if name not in current.checks:
                with contextlib.suppress(LookupError):  # JobLookupError is a KeyError
                    self._scheduler.remove_job(CHECK_JOB_PREFIX + name)
        for name, spec in current.checks.items():
            if previous.checks.get(name) != spec:
                self._add_check_job(name, spec)
        if previous.heartbeat_seconds != current.heartbeat_seconds:
            self._add_heartbeat_job(current.heartbeat_seconds)

    def jobs(self) -> dict[str, float]:
        """Job id → interval in seconds of what the scheduler runs."""
        if self._scheduler is None:
            return {}
        return {job.id: job.trigger.interval.total_seconds() for job in self._scheduler.get_jobs()}

    def pause(self) -> None:
        """No new runs (shutting down would cancel the running ones)."""
        if self._scheduler is not None:
            self._scheduler.pause()

    def shutdown(self) -> None:
        """Stop scheduling (running jobs finish on their own)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
