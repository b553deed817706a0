"""The simulator's public API (sim/__init__.py): every name the alerting, dashboard and console
tests import from ``sim`` is there, is the object of its own module, and works."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest

import sim
from agent.vntime import VN_TZ

HOMES = {
    "BackfillResult": "sim.backfill",
    "Behaviour": "sim.behaviour",
    "load_factor": "sim.behaviour",
    "SimClock": "sim.clock",
    "Driver": "sim.driver",
    "StepResult": "sim.driver",
    "utc_minute": "sim.driver",
    "Fault": "sim.faults",
    "FaultType": "sim.faults",
    "FaultView": "sim.faults",
    "Fleet": "sim.fleet",
    "SimAgent": "sim.fleet",
    "SimCommune": "sim.fleet",
    "SimDevice": "sim.fleet",
    "generate_fleet": "sim.fleet",
    "ResolvedScenario": "sim.scenario",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
    "parse_duration": "sim.scenario",
    "parse_scenario": "sim.scenario",
    "ExpectedIncident": "sim.truth",
}


def test_the_public_names_are_exactly_those_documented() -> None:
    assert sorted(sim.__all__) == sorted(HOMES)
    assert len(set(sim.__all__)) == len(sim.__all__)


@pytest.mark.parametrize(("name", "module"), sorted(HOMES.items()))
def test_each_public_name_is_its_modules_object(name: str, module: str) -> None:
    assert getattr(sim, name) is getattr(importlib.import_module(module), name)


def test_live_steps_start_on_a_whole_utc_minute() -> None:
    local = datetime(2026, 3, 6, 15, 30, 42, 123, tzinfo=VN_TZ)
    assert sim.utc_minute(local) == datetime(2026, 3, 6, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "busy"),
    [
        (datetime(2026, 3, 6, 9, 0), 1.0),  # Friday morning's peak
        (datetime(2026, 3, 6, 7, 45), 0.45),  # opening
        (datetime(2026, 3, 6, 12, 0), 0.05),  # lunch
        (datetime(2026, 3, 6, 15, 59), 1.0),
        (datetime(2026, 3, 6, 16, 30), 0.45),
        (datetime(2026, 3, 6, 20, 0), 0.05),
        (datetime(2026, 3, 7, 9, 0), 0.03),  # Saturday
    ],
)
def test_how_busy_a_centre_is_follows_its_sessions(local: datetime, busy: float) -> None:
    at = (local - timedelta(hours=7)).replace(tzinfo=UTC)
    assert sim.load_factor(at) == busy
