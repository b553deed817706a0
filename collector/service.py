"""The collector's own parts wired together: store, writer, processor, registry. No globals.

Features (alerting, the register's metrics, the console) are added by the composition root
(``province.service``), which extends :class:`CollectorService` with what they need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine

from agent.clock import Clock, SystemClock
from collector.catalogue import MetricInfo, load_catalogue
from collector.db import WriteGate, make_engine
from collector.exposition import (
    DeviceExposition,
    ExpositionProbe,
    PreparedText,
    StateCollector,
)
from collector.influx_sink import InfluxSink, build_sink
from collector.ingest import JournalWriter
from collector.metrics import IngestMetrics
from collector.processor import JournalConsumer, Processor
from collector.settings import Settings
from collector.store_errors import StoreProbe, WithoutStore, render_without_store
from collector.validation_pool import ValidationPool

log = logging.getLogger(__name__)
WARM_UP_WAIT_SECONDS = 10.0  # 5,000 devices render in 0.4 s on SQLite
# How often the devices changed since are rendered, and their text written, ahead of the
# scrapes. While the service runs a scrape serves that text when it is at most
# DEVICE_TEXT_MAX_AGE_SECONDS old (Prometheus scrapes every 15 s or more; agents report once a
# minute), so a scrape costs no store read and no formatting of device lines. The limit only
# catches a refresh that stopped: a pass is 2 s of waiting plus its own work, which for a whole
# province that changed (the demo at sixty times real time) is 0.7 s on an idle slow machine
# and more on busy cores, so a limit of a few seconds left no margin.
DEVICE_REFRESH_SECONDS = 2.0
DEVICE_TEXT_MAX_AGE_SECONDS = 30.0


@dataclass
class CollectorService:
    """Everything one collector process runs; built by :func:`build_collector`."""

    settings: Settings
    engine: Engine
    clock: Clock
    registry: CollectorRegistry
    metrics: IngestMetrics
    writer: JournalWriter
    processor: Processor
    catalogue: dict[str, MetricInfo]
    devices: DeviceExposition
    agents: PreparedText
    validation: ValidationPool
    sink: InfluxSink | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _refreshing: bool = False  # the background refresh writes the device text (running())
    _scraped: bool = False  # a process nobody scrapes (``process``) need not refresh

    def exposition(self, devices: bool = True) -> bytes:
        """The whole /metrics text: the collector's own metrics, agents, then every device.

        ``devices=False`` leaves out the ``cm_device_*`` families, for a scraper that has them
        from the time-series sink already (dashboards/victoriametrics/scrape.yml).
        """
        agents = self.agents.latest(DEVICE_TEXT_MAX_AGE_SECONDS) if self._refreshing else None
        own = generate_latest(self.registry) + (self.agents.render() if agents is None else agents)
        if not devices:
            return own
        self._scraped = True
        text = self.devices.latest(DEVICE_TEXT_MAX_AGE_SECONDS) if self._refreshing else None
        if text is None:
            text = render_without_store(self.devices.render, "devices")
        return own + text

    @contextlib.asynccontextmanager
    async def running(self, processor_idle_seconds: float = 1.0) -> AsyncIterator[CollectorService]:
        """Run the writer (and the processor, if configured) for the duration of the block.

        The processor wakes on this process's journal commits, else every idle period: a
        process without ingest (``commune-monitor process``) polls with a shorter one.
        """
        self.writer.start()
        # The sink's sender runs where the journal is processed (and its backlog written).
        if self.sink is not None and self.settings.run_processor:
            self.sink.start()
        if self.settings.run_processor:
            self._tasks.append(
                asyncio.get_running_loop().create_task(
                    self.processor.run(self.writer.committed, processor_idle_seconds),
                    name="journal-processor",
                )
            )
        # The device lines are kept between scrapes (DeviceExposition): render them once now,
        # so that the first scrape after a start formats only what changed since. The start
        # waits for it (uvicorn opens its port after), but never long: a store that does not
        # answer must not keep the collector from ingesting.
        warm_up = asyncio.get_running_loop().create_task(
            self._warm_up_devices(), name="device-exposition-warm-up"
        )
        stop_refresh = asyncio.Event()
        refresher = asyncio.get_running_loop().create_task(
            self._refresh_devices(stop_refresh), name="device-exposition-refresh"
        )
        self._refreshing = True
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(warm_up), WARM_UP_WAIT_SECONDS)
            async with contextlib.AsyncExitStack() as stack:
                if self.settings.run_processor:
                    for timers in self.timers():
                        await stack.enter_async_context(timers)
                for work in self.background():
                    await stack.enter_async_context(work)
                yield self
        finally:
            # A thread cannot be cancelled: the warm-up and a refresh in progress end before
            # the store may go.
            self._refreshing = False
            stop_refresh.set()
            await refresher
            await warm_up
            await self.writer.stop()
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()
            if self.sink is not None:
                await asyncio.to_thread(self.sink.stop)
            await asyncio.to_thread(self.validation.close)

    def refresh_exposition(self) -> None:
        """The background refresh's work: the agents' text, then the devices changed since.

        A store that is down leaves the agents out (WithoutStore) and drops the devices' text:
        scrapes then render for themselves, and leave the devices out while it is down.
        """
        try:
            self.agents.refresh()
            self.devices.refresh()
        except Exception as exc:  # noqa: BLE001 - the store is down: the scrape says so
            self.agents.forget_text()
            self.devices.forget_text()
            log.debug("device exposition refresh failed: %s", exc)

    async def _warm_up_devices(self) -> None:
        try:
            await asyncio.to_thread(self.agents.refresh)
            await asyncio.to_thread(render_without_store, self.devices.render, "devices")
        except Exception:
            # Only the first scrape is slower for it; the service must start all the same.
            log.exception("device exposition warm-up failed")

    async def _refresh_devices(self, stop: asyncio.Event) -> None:
        """Format the agents' families and render the devices changed since, every
        ``DEVICE_REFRESH_SECONDS`` from the first scrape of the devices on, until ``stop``;
        after a failure (the store is down) scrapes render for themselves, and leave the
        devices out while the store is down."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), DEVICE_REFRESH_SECONDS)
                return
            if not self._scraped:
                continue
            await asyncio.to_thread(self.refresh_exposition)

    def timers(self) -> list[AbstractAsyncContextManager[object]]:
        """Scheduled work of the features, run only where the journal is processed (one place
        raises tickets); the composition root adds them."""
        return []

    def background(self) -> list[AbstractAsyncContextManager[object]]:
        """Scheduled work that serves this process's own reads (figures a scrape serves from the
        last computation), run in every process whatever its role; the composition root adds
        them."""
        return []


def build_collector(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    engine: Engine | None = None,
    consumers: Sequence[JournalConsumer] = (),
) -> CollectorService:
    """The collector's own parts from settings; tests inject the clock, registry and engine."""
    clock = clock or SystemClock()
    registry = registry or CollectorRegistry()
    engine = engine or make_engine(settings)
    metrics = IngestMetrics.create(registry)
    gate = WriteGate(engine)
    catalogue = load_catalogue()
    # The parts read from the store are left out of a scrape while it is down (store_errors.py).
    registry.register(StoreProbe(engine))
    # Not in the registry: formatted ahead of the scrapes while the service runs.
    agents = PreparedText(
        WithoutStore(StateCollector(engine, clock, catalogue, settings.heartbeat_seconds), "agents")
    )
    devices = DeviceExposition(
        engine, catalogue, clock=clock, stale_seconds=settings.device_stale_seconds
    )
    registry.register(ExpositionProbe(devices))
    sink = None
    if settings.influx.url:
        sink = build_sink(
            url=settings.influx.url,
            token=settings.influx.token.get_secret_value() if settings.influx.token else "-",
            org=settings.influx.org,
            bucket=settings.influx.bucket,
            backlog_dir=settings.influx.backlog_dir or settings.data_dir / "tsdb-backlog",
            backlog_max_bytes=settings.influx.backlog_max_bytes,
            batch_size=settings.influx.batch_size,
            flush_interval_seconds=settings.influx.flush_interval_seconds,
            registry=registry,
        )
        consumers = [*consumers, sink]
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
        devices=devices,
        agents=agents,
        validation=ValidationPool(settings),
        sink=sink,
    )
