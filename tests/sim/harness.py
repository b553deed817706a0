"""A collector in-process (its real ASGI app, store and processor) with a simulated fleet on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector.communes import BUNDLED_UNITS
from collector.settings import Settings
from province.app import create_app
from province.service import ProvinceService, build_service
from sim import Driver, Fault, Fleet, ResolvedScenario, generate_fleet, parse_scenario
from tests.fakes import FakeClock


def fibre_cut(duration: str, clock: FakeClock) -> tuple[Fleet, ResolvedScenario]:
    """A two-commune fleet and a scenario cutting the second commune's link from minute 5 for
    ``duration`` (scenario syntax, e.g. ``10m``), pinned to ``clock``'s now."""
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=5, max_communes=2)
    scenario = f"""
name: fibre cut
faults:
  - id: cut
    type: link_down
    start: 5m
    duration: {duration}
    target: {{scope: commune, commune: 1}}
"""
    return fleet, parse_scenario(scenario, "cut.yaml").resolve(fleet, clock.now())


@dataclass
class Harness:
    """What a simulation test works with."""

    driver: Driver
    service: ProvinceService
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
    network: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
) -> AsyncIterator[Harness]:
    """Enrolled agents posting through httpx's ASGI transport to the real app on ``engine``;
    ``network`` wraps that transport (a test's lossy link)."""
    clock = clock or FakeClock()
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    app = create_app(service)
    transport = httpx.ASGITransport(app=app)
    driver = Driver(
        fleet,
        base_url="http://collector.test",
        spool_dir=tmp_path / "spools",
        clock=clock,
        faults=faults,
        transport=network(transport) if network else transport,
        interval_seconds=interval_seconds,
        backfill_retry_seconds=0.0,
    )
    try:
        async with service.running():
            driver.enrol(engine)
            yield Harness(driver, service, clock)
    finally:
        await driver.aclose()
    # Whatever the background processor had not reached yet: state is complete after this.
    service.processor.drain()
