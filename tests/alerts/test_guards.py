"""Collector guards: no silence judged while the collector itself is behind."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine

from alerts.engine import AlertEngine
from alerts.guards import CollectorProbes, Guards
from alerts.metrics import GuardCollector
from alerts.routing import load_routing
from alerts.rules import load_rules
from tests.alerts.support import HEARTBEAT, World, pc, router
from tests.fakes import FakeClock


class Lag:
    """A settable probe: how far behind the collector is, in seconds."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, _now: datetime) -> float:
        return self.seconds


def _world(engine: Engine, probes: CollectorProbes) -> World:
    clock = FakeClock()
    world = World(engine, clock=clock)
    # The engine a collector builds: guards on (probes given), started now.
    world.alerts = AlertEngine(
        engine, load_rules(), load_routing(), clock, heartbeat_seconds=HEARTBEAT, probes=probes
    )
    world.processor._consumers = [world.alerts]
    for commune in world.communes[:2]:
        world.enrol(commune, [router(f"{commune}-RT")])
        world.enrol(commune, [pc(f"{commune}-PC-0")])
    return world


def test_no_silence_is_judged_in_the_first_minutes_after_a_start(engine: Engine) -> None:
    world = _world(engine, CollectorProbes())
    guards = world.alerts.guards
    assert guards is not None
    # The collector has just started: agents that were silent while it was away are still
    # resending; a commune cut since then is judged only once the startup guard lifts.
    world.tick()
    assert "startup" in guards.active
    cut = frozenset(world.communes[:1])
    world.tick(cut=cut)
    assert "startup" in guards.active
    assert world.tickets() == []
    for _ in range(3):
        world.tick(cut=cut)
    assert "startup" not in guards.active
    assert [t.problem_class for t in world.tickets()] == ["site_outage"]


def test_a_lagging_processor_stops_the_sweep_and_shows_on_metrics(engine: Engine) -> None:
    lag = Lag()
    world = _world(engine, CollectorProbes(processing_lag=lag))
    guards = world.alerts.guards
    assert guards is not None
    for _ in range(4):  # past the startup guard
        world.tick()
    assert guards.active == {}
    lag.seconds = 600.0  # ten minutes behind: every agent looks silent, none is
    for _ in range(5):
        world.tick(cut=frozenset(world.communes))
    assert world.tickets() == []
    assert set(guards.active) == {"processing_lag"}
    registry = CollectorRegistry()
    registry.register(GuardCollector(guards))
    text = generate_latest(registry).decode()
    assert 'cm_alert_guard_active{guard="processing_lag"} 1.0' in text
    assert 'cm_alert_guard_engagements_total{guard="processing_lag"} 1.0' in text
    lag.seconds = 0.0
    world.tick()
    assert guards.active == {}


def test_a_probe_that_fails_does_not_stop_the_sweep(engine: Engine) -> None:
    def broken(_now: datetime) -> float:
        raise RuntimeError("store away")

    clock = FakeClock()
    guards = Guards(load_rules(), clock.now(), load_rules().guards.startup, CollectorProbes(broken))
    clock.advance(3600)
    assert guards.check(clock.now()) == {}
