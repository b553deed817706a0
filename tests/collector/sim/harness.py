"""A collector in-process (its real ASGI app, store and processor) with a simulated fleet on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector.api import create_app
from collector.service import CollectorService, build_service
from collector.settings import Settings
from collector.sim import Driver, Fault, Fleet
from tests.fakes import FakeClock


@dataclass
class Harness:
    """What a simulation test works with."""

    driver: Driver
    service: CollectorService
    clock: FakeClock

    async def run(self, steps: int) -> None:
        """``steps`` live steps, the fake clock moving one interval after each."""
        for _ in range(steps):
            await self.driver.step()
            self.clock.advance(self.driver.interval)


@contextlib.asynccontextmanager
async def simulated(
    settings: Settings,
    engine: Engine,
    fleet: Fleet,
    tmp_path: Path,
    *,
    faults: tuple[Fault, ...] = (),
    clock: FakeClock | None = None,
    interval_seconds: float = 60.0,
) -> AsyncIterator[Harness]:
    """Enrolled agents posting through httpx's ASGI transport to the real app on ``engine``."""
    clock = clock or FakeClock()
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    app = create_app(service)
    driver = Driver(
        fleet,
        base_url="http://collector.test",
        spool_dir=tmp_path / "spools",
        clock=clock,
        faults=faults,
        transport=httpx.ASGITransport(app=app),
        interval_seconds=interval_seconds,
    )
    try:
        async with service.running():
            driver.enrol(engine)
            yield Harness(driver, service, clock)
    finally:
        await driver.aclose()
    # Whatever the background processor had not reached yet: state is complete after this.
    service.processor.drain()
