"""One province's collector with its features: alerting, the register's metrics, the console.

The base (``collector.service``) knows nothing of the features; this module adds them: the alert
engine and the register's daily rollups as journal consumers with their timers, the ticket,
outbox and register collectors on ``/metrics`` (the register's figures refreshed in the
background of every process that serves it).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, fields

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from agent.clock import Clock
from alerts.guards import CollectorProbes
from alerts.metrics import GuardCollector, TicketCollector
from alerts.notify import OutboxCollector
from alerts.runtime import Alerting, build_alerting
from collector.processor import JournalConsumer
from collector.service import CollectorService, build_collector
from collector.settings import Settings
from collector.store_errors import WithoutStore
from inventory.metrics import InventoryCollector
from inventory.rollups import RollupConsumer


@dataclass
class ProvinceService(CollectorService):
    """The collector of one province with every feature; built by :func:`build_service`."""

    alerting: Alerting | None = None
    inventory: InventoryCollector | None = None
    rollups: RollupConsumer | None = None

    def timers(self) -> list[AbstractAsyncContextManager[object]]:
        """The alerting's sweep and notification timers, and the rollups' pruning."""
        timers: list[AbstractAsyncContextManager[object]] = []
        if self.rollups is not None:
            timers.append(self.rollups.pruning())
        if self.alerting is not None:
            timers.append(self.alerting.running())
        return timers

    def background(self) -> list[AbstractAsyncContextManager[object]]:
        """The register's figures for /metrics, recomputed in the background."""
        return [self.inventory.running()] if self.inventory is not None else []


def build_service(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    engine: Engine | None = None,
    consumers: Sequence[JournalConsumer] = (),
) -> ProvinceService:
    """Build a province's collector from settings; tests inject the clock, registry and engine."""
    core = build_collector(
        settings, clock=clock, registry=registry, engine=engine, consumers=consumers
    )
    engine, clock, registry = core.engine, core.clock, core.registry
    # Isolated: computed in a worker process, so that a scrape of this process never waits for
    # the GIL behind the scoring of the whole register.
    inventory = InventoryCollector(
        engine, clock, journal_days=settings.journal_retention_days, isolated=True
    )
    registry.register(inventory)
    alerting = None
    if settings.alerts.enabled:
        probes = CollectorProbes(
            processing_lag=core.processor.lag_seconds if settings.run_processor else None,
            ingest_stall=core.writer.stall_seconds,
        )
        alerting = build_alerting(settings, engine, clock, probes=probes)
        # After the time-series sink: a ticket never waits for history, nor history for tickets.
        core.processor.add_consumer(alerting.engine)
        registry.register(WithoutStore(TicketCollector(engine), "tickets"))
        if alerting.engine.guards is not None:
            registry.register(GuardCollector(alerting.engine.guards))
        registry.register(WithoutStore(OutboxCollector(engine), "outbox"))
    # Beside the alert engine: the register's saturation and failures, per device and day.
    rollups = RollupConsumer(engine, clock)
    core.processor.add_consumer(rollups)
    parts = {field.name: getattr(core, field.name) for field in fields(core) if field.init}
    return ProvinceService(**parts, alerting=alerting, inventory=inventory, rollups=rollups)
