"""The collector's parts wired together: store, writer, processor, registry. No globals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine

from agent.checks.base import Clock, SystemClock
from alerts.metrics import TicketCollector
from alerts.runtime import Alerting, build_alerting
from collector.catalogue import MetricInfo, load_catalogue
from collector.db import WriteGate, make_engine
from collector.exposition import DeviceExposition, StateCollector
from collector.influx_sink import InfluxSink, build_sink
from collector.ingest import JournalWriter
from collector.metrics import IngestMetrics
from collector.processor import JournalConsumer, Processor
from collector.settings import Settings


@dataclass
class CollectorService:
    """Everything one collector process runs; built by :func:`build_service`."""

    settings: Settings
    engine: Engine
    clock: Clock
    registry: CollectorRegistry
    metrics: IngestMetrics
    writer: JournalWriter
    processor: Processor
    catalogue: dict[str, MetricInfo]
    devices: DeviceExposition
    sink: InfluxSink | None = None
    alerting: Alerting | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def exposition(self) -> bytes:
        """The whole /metrics text: the collector's own metrics, agents, then every device."""
        return generate_latest(self.registry) + self.devices.render()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CollectorService]:
        """Run the writer (and the processor, if configured) for the duration of the block."""
        self.writer.start()
        if self.sink is not None:
            self.sink.start()
        if self.settings.run_processor:
            self._tasks.append(
                asyncio.get_running_loop().create_task(
                    self.processor.run(self.writer.committed), name="journal-processor"
                )
            )
        # Alert timers run where the journal is processed: one place raises tickets.
        timers = (
            self.alerting.running()
            if self.alerting is not None and self.settings.run_processor
            else contextlib.nullcontext()
        )
        try:
            async with timers:
                yield self
        finally:
            await self.writer.stop()
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()
            if self.sink is not None:
                await asyncio.to_thread(self.sink.stop)


def build_service(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    engine: Engine | None = None,
    consumers: Sequence[JournalConsumer] = (),
) -> CollectorService:
    """Build a collector from settings; tests inject the clock, registry and engine."""
    clock = clock or SystemClock()
    registry = registry or CollectorRegistry()
    engine = engine or make_engine(settings)
    metrics = IngestMetrics.create(registry)
    gate = WriteGate(engine)
    catalogue = load_catalogue()
    registry.register(StateCollector(engine, clock, catalogue, settings.heartbeat_seconds))
    sink = None
    if settings.influx_url:
        sink = build_sink(
            url=settings.influx_url,
            token=settings.influx_token.get_secret_value() if settings.influx_token else "-",
            org=settings.influx_org,
            bucket=settings.influx_bucket,
            backlog_dir=settings.influx_backlog_dir or settings.data_dir / "tsdb-backlog",
            backlog_max_bytes=settings.influx_backlog_max_bytes,
            batch_size=settings.influx_batch_size,
            flush_interval_seconds=settings.influx_flush_interval_seconds,
            registry=registry,
        )
        consumers = [*consumers, sink]
    alerting = None
    if settings.alerts_enabled:
        alerting = build_alerting(settings, engine, clock)
        consumers = [*consumers, alerting.engine]
        registry.register(TicketCollector(engine))
    return CollectorService(
        settings=settings,
        engine=engine,
        clock=clock,
        registry=registry,
        metrics=metrics,
        writer=JournalWriter(engine, settings, metrics, gate),
        processor=Processor(
            engine,
            clock,
            metrics,
            consumers=consumers,
            retention=timedelta(days=settings.journal_retention_days),
            gate=gate,
        ),
        catalogue=catalogue,
        devices=DeviceExposition(engine, catalogue),
        sink=sink,
        alerting=alerting,
    )
