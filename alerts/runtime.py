"""Alerting wired for one collector: engine, dispatcher and the schedule that drives them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import Engine

from agent.clock import Clock
from alerts.calendar import load_calendar
from alerts.engine import AlertEngine
from alerts.guards import CollectorProbes
from alerts.link_tokens import ActionLinks, load_link_secret
from alerts.notify import (
    AppriseNotifier,
    Dispatcher,
    Notifier,
    SmtpNotifier,
    WebhookNotifier,
)
from alerts.routing import Routing, load_routing
from alerts.rules import Rules, load_rules
from alerts.systems import load_systems

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from collector.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Alerting:
    """The alert engine (a journal consumer), its dispatcher, and their schedule."""

    engine: AlertEngine
    dispatcher: Dispatcher
    sweep_seconds: float
    notify_seconds: float
    _client: httpx.Client | None = None
    _scheduler: AsyncIOScheduler | None = field(default=None, repr=False)

    @property
    def rules(self) -> Rules:
        """The rules in force."""
        return self.engine.rules

    @property
    def routing(self) -> Routing:
        """The routing in force."""
        return self.engine.routing

    async def _sweep(self) -> None:
        await _pass_in_thread(self.engine.sweep, "alert sweep")

    async def _notify(self) -> None:
        await _pass_in_thread(self.dispatcher.deliver_due, "notification dispatch")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Alerting]:
        """Run the silence sweep and the outbox dispatch on apscheduler for the block."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        scheduler.add_job(
            self._sweep, IntervalTrigger(seconds=self.sweep_seconds), id="alert-sweep", **common
        )
        scheduler.add_job(
            self._notify,
            IntervalTrigger(seconds=self.notify_seconds),
            id="alert-notify",
            **common,
        )
        scheduler.start()
        self._scheduler = scheduler
        try:
            yield self
        finally:
            scheduler.shutdown(wait=False)
            self._scheduler = None
            if self._client is not None:
                self._client.close()
                self._client = None


async def _pass_in_thread(work: Callable[[], object], what: str) -> None:
    """Run one timer pass in a worker thread; a failure is logged and retried at the next run."""
    try:
        await asyncio.to_thread(work)
    except asyncio.CancelledError:
        # The collector is stopping while the pass runs: apscheduler would log the cancellation
        # as a crash with its traceback. Both passes are transactional (a message is marked sent
        # in the commit after its send), so what the thread finishes stands and the rest is done
        # at the next start.
        log.info("%s interrupted by shutdown; it resumes at the next start", what)
    except Exception:
        log.exception("%s failed; retrying at the next run", what)


def build_alerting(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    rules_file: Path | None = None,
    routing_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    probes: CollectorProbes | None = None,
) -> Alerting:
    """Alerting from settings (rules, routing and systems files, SMTP relay); loads and
    validates the files. ``environ`` (default: the process environment) gives the values of
    the ``${VARIABLES}`` that channel addresses name; ``probes`` tell how far behind the
    collector is (its guards)."""
    rules = load_rules(rules_file or settings.alerts.rules_file)
    routing = load_routing(routing_file or settings.alerts.routing_file)
    systems = load_systems(settings.alerts.systems_file)
    calendar = load_calendar(settings.alerts.calendar_file)
    routing.check_systems(systems.ids, systems.source)
    # The routing file names its own variables, so they cannot be Settings fields: this is
    # the one place that hands the process environment to the alerting package.
    env: Mapping[str, str] = os.environ if environ is None else environ
    for problem in routing.check_environment(env):
        # Not fatal: the rest of the province's notifications still go; these rows wait.
        log.warning("notification channel unusable", extra={"problem": problem})
    alert_engine = AlertEngine(
        engine,
        rules,
        routing,
        clock,
        heartbeat_seconds=settings.heartbeat_seconds,
        public_url=settings.public_url,
        systems=systems,
        calendar=calendar,
        probes=probes,
    )
    client = httpx.Client(timeout=10.0)
    notifiers: dict[str, Notifier] = {
        "webhook": WebhookNotifier(client),
        "apprise": AppriseNotifier(),
    }
    if settings.smtp.host:
        notifiers["email"] = SmtpNotifier(
            settings.smtp.host,
            settings.smtp.port,
            settings.smtp.sender,
            starttls=settings.smtp.starttls,
            username=settings.smtp.username,
            password=(
                settings.smtp.password.get_secret_value() if settings.smtp.password else None
            ),
        )
    return Alerting(
        engine=alert_engine,
        dispatcher=Dispatcher(
            engine,
            clock,
            notifiers,
            routing=routing,
            environ=env,
            # Signed answer links in every message (issue 22), with the collector's link key.
            links=ActionLinks(
                load_link_secret(settings.alerts.link_secret, settings.data_dir),
                settings.public_url,
            ),
        ),
        sweep_seconds=settings.alerts.sweep_seconds,
        notify_seconds=settings.alerts.notify_seconds,
        _client=client,
    )
