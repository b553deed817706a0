"""A simulated province: fleet, behaviour, faults and a driver that feeds a real collector.

It lives under ``collector/`` because it is province-side tooling: ``commune-monitor demo``, the
alerting, dashboard and UI tests and the benchmarks use it, and none of it is installed on commune
PCs (the ``agent`` extra stays small). It uses only the agent's public pieces (spool, sender, wire
schema) and the collector's public API, so what it exercises is the real ingest path.

Public API (kept stable for the alerting, dashboard and UI tests; import from here):

- Fleet (:mod:`collector.sim.fleet`): ``generate_fleet(units_csv, province_code, *, seed=0,
  max_communes=None, as_of=DEFAULT_AS_OF) -> Fleet``; ``Fleet`` has ``communes``, ``agents``,
  ``devices``, ``register`` (the matching :class:`inventory.models.Asset` list),
  ``commune(code)`` and ``write_register(path)``; ``SimCommune``, ``SimAgent`` (role ``"pc"`` or
  ``"site"``) and ``SimDevice`` (``device_id`` is the asset tag). Same arguments, same fleet.
- Behaviour (:mod:`collector.sim.behaviour`): ``Behaviour(fleet, seed, start)``;
  ``agent_report(agent, at, step_seconds, FaultView) -> list[dict] | None`` (None: the agent is
  off); ``FaultView.at(faults, when)``; ``load_factor(at)``.
- Scenarios (:mod:`collector.sim.scenario`): ``load_scenario(path=None)`` (None: the bundled
  ``default.yaml``), ``parse_scenario(text, source)``; ``Scenario.resolve(fleet, start) ->
  ResolvedScenario`` with ``faults`` (``Fault``: type, start, end, commune_code, device_id) and
  ``ground_truth`` (``ExpectedIncident``: problem_class, commune_code, device_id, start, end,
  fault_id) in DESIGN.md's problem-class words; ``FaultType``; ``ScenarioError`` names the file,
  fault and field.
- Driver (:mod:`collector.sim.driver`): ``Driver(fleet, *, base_url, spool_dir, clock, faults=(),
  transport=None, interval_seconds=60, concurrency=64)``; ``enrol(engine)`` or
  ``enrol_via_api(...)``; ``backfill(start, end, step_seconds=3600, progress=None, only=None,
  concurrency=8, base_url=None) -> BackfillResult`` (a month of one agent per POST, resent on a
  timeout or 503: ingest is idempotent); ``open_spools()``; ``step(at=None) -> StepResult``
  (measure, spool, send: tests drive it with a fake clock); ``run(stop)`` (real-time pacing on a
  ``SimClock``); ``aclose()``. ``SimClock(start, speed)`` is the one clock every component of a
  run reads; ``set_speed(speed)`` changes its pace from now on (the demo back-fills at 1).
- Ground truth checks (:mod:`collector.sim.truth`): ``read_journal(engine, agents_by_id)``,
  ``observed_symptoms(reports, interval_seconds)`` finds the symptoms each fault leaves in stored
  reports, and ``compare(ground_truth, symptoms) -> TruthCheck`` (``missing``, ``unexplained``).
"""

from collector.sim.behaviour import Behaviour, FaultView, load_factor
from collector.sim.driver import BackfillResult, Driver, SimClock, StepResult, utc_minute
from collector.sim.fleet import Fleet, SimAgent, SimCommune, SimDevice, generate_fleet
from collector.sim.scenario import (
    ExpectedIncident,
    Fault,
    FaultType,
    ResolvedScenario,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_duration,
    parse_scenario,
)

__all__ = [
    "BackfillResult",
    "Behaviour",
    "Driver",
    "ExpectedIncident",
    "Fault",
    "FaultType",
    "FaultView",
    "Fleet",
    "ResolvedScenario",
    "Scenario",
    "ScenarioError",
    "SimAgent",
    "SimClock",
    "SimCommune",
    "SimDevice",
    "StepResult",
    "generate_fleet",
    "load_factor",
    "load_scenario",
    "parse_duration",
    "parse_scenario",
    "utc_minute",
]
