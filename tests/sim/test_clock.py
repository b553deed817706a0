"""The simulated clock never outruns the simulation: held at a step until it is delivered."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from collector.communes import BUNDLED_UNITS
from collector.schema import journal
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from sim import Driver, SimClock, StepResult, generate_fleet
from tests.fakes import FakeClock


def test_sim_clock_keeps_its_time_when_its_speed_changes() -> None:
    real = FakeClock()
    start = real.now()
    clock = SimClock(start, 1.0, real=real)
    real.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    clock.set_speed(60.0)
    assert clock.now() == start + timedelta(seconds=90)
    real.advance(10)
    assert clock.now() == start + timedelta(seconds=690)
    assert clock.monotonic() == 690.0


def test_the_clock_stops_at_its_barrier_and_resumes_from_it_without_a_jump() -> None:
    real = FakeClock()
    start = real.now()
    clock = SimClock(start, 60.0, real=real, held=True)
    real.advance(30)
    assert clock.now() == start  # held at the start (the demo's history is being written)
    clock.hold(start + timedelta(minutes=1))
    real.advance(0.5)
    assert clock.now() == start + timedelta(seconds=30)
    real.advance(600)  # ten real minutes late: a slow machine
    assert clock.now() == start + timedelta(minutes=1)
    assert clock.real_seconds_until(start + timedelta(minutes=1)) == 0.0
    clock.hold(start + timedelta(minutes=2))  # the step was delivered
    assert clock.now() == start + timedelta(minutes=1)  # no jump for the time spent waiting
    real.advance(0.25)
    assert clock.now() == start + timedelta(seconds=75)
    clock.hold(start)  # a barrier behind the clock freezes it; time never goes back
    real.advance(60)
    assert clock.now() == start + timedelta(seconds=75)
    clock.hold(None)
    real.advance(1)
    assert clock.now() == start + timedelta(seconds=135)


class _SlowLink(httpx.AsyncBaseTransport):
    """Every report POST takes ``seconds`` of (fake) real time; records the collector's clock
    and the oldest report in the batch as each POST arrives."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, real: FakeClock, clock: SimClock, seconds: float
    ) -> None:
        self._inner = inner
        self._real = real
        self._clock = clock
        self._seconds = seconds
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/reports":
            self.posts += 1
            await asyncio.sleep(0)
            self._real.advance(self._seconds)  # the machine is slow: real time passes
        return await self._inner.handle_async_request(request)


async def test_a_slow_machine_slows_the_run_instead_of_letting_the_collector_clock_run_ahead(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=6, max_communes=1)
    real = FakeClock()
    clock = SimClock(real.now(), 60.0, real=real)
    # The collector (ingest stamps received_at) reads the same simulated clock.
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    links: list[_SlowLink] = []

    def slow(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        links.append(_SlowLink(inner, real, clock, seconds=20.0))  # 20 simulated minutes
        return links[-1]

    driver = Driver(
        fleet,
        base_url="http://collector.test",
        spool_dir=tmp_path / "spools",
        clock=clock,
        transport=slow(httpx.ASGITransport(app=create_app(service))),
        interval_seconds=60.0,
    )
    stop = asyncio.Event()
    steps: list[StepResult] = []

    def counted(result: StepResult) -> None:
        steps.append(result)
        if len(steps) == 4:
            stop.set()

    async def pause(seconds: float) -> None:
        real.advance(seconds)  # waiting for the next step: real time passes, at the set pace

    try:
        async with service.running():
            driver.enrol(engine)
            driver.open_spools()
            first = clock.now()
            await driver.run(stop, on_step=counted, pause=pause)
            agents_by_id = driver.agents_by_id
    finally:
        await driver.aclose()
    service.processor.drain()
    assert [step.at for step in steps] == [
        first.replace(microsecond=0) + timedelta(minutes=n) for n in range(4)
    ]
    assert all(step.sent == step.reports == len(fleet.agents) for step in steps)
    # Every POST cost 20 simulated minutes of wall time: unheld, the clock would be hours ahead.
    posts = sum(link.posts for link in links)
    assert posts >= 4 * len(fleet.agents)
    with engine.connect() as conn:
        rows = conn.execute(select(journal.c.measured_at, journal.c.received_at)).all()
    assert len(rows) == 4 * len(agents_by_id)
    # The collector's clock never passed a step whose reports were still on their way.
    assert all(row.received_at == row.measured_at for row in rows)
    # And the run ended where it was: the clock is at the last step, not where real time says.
    assert clock.now() - steps[-1].at < timedelta(minutes=1)
