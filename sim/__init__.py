"""A simulated province: fleet, behaviour, faults and a driver that feeds a real collector.

It is province-side tooling beside ``province/``: ``commune-monitor demo``, the alerting and
simulation tests and the benchmarks use it, and none of it is installed on commune PCs (the
``agent`` extra stays small). It uses only the agent's public pieces (spool, sender, wire schema,
its checks' vocabulary), the working calendar and maintenance windows of ``alerts``, and the
collector's public API, so what it exercises is the real ingest path with what real agents send.

Public API (kept stable for the alerting, dashboard and UI tests; import from here):

- Fleet (:mod:`sim.fleet`): ``generate_fleet(units_csv, province_code, *, seed=0,
  max_communes=None, as_of=DEFAULT_AS_OF) -> Fleet``; ``Fleet`` has ``communes``, ``agents``,
  ``devices``, ``register`` (the matching :class:`inventory.models.Asset` list),
  ``commune(code)`` and ``write_register(path)``; ``SimCommune``, ``SimAgent`` (role ``"pc"`` or
  ``"site"``) and ``SimDevice`` (``device_id`` is the asset tag; a counter PC's ``pc`` is its
  :class:`sim.workstation.PcSetup`: Windows release, processor, memory, signing bridges and the
  clerk's USB token with its certificates). Same arguments, same fleet.
- Behaviour (:mod:`sim.behaviour`): ``Behaviour(fleet, seed, start, calendar=None)``;
  ``agent_report(agent, at, step_seconds, FaultView) -> list[dict] | None`` (None: the agent is
  off); ``load_factor(at)``. Counter PCs live by :mod:`sim.presence` (``Presence(calendar,
  seed).span(key, commune, at)``); sample shapes are :mod:`sim.shapes`, the signing chain's
  (the agent's ``signing`` and ``tokens`` checks) :mod:`sim.signing`.
- Faults (:mod:`sim.faults`): ``FaultType``, ``Fault`` (type, start, end, commune_code,
  device_id, system), ``FaultView.at(faults, when)``.
- Scenarios (:mod:`sim.scenario`): ``load_scenario(path=None)`` (None: the bundled
  ``default.yaml``), ``parse_scenario(text, source)``; ``Scenario.resolve(fleet, start,
  calendar=None) -> ResolvedScenario`` with ``faults``, ``ground_truth`` (:mod:`sim.truth`'s
  ``ExpectedIncident``: problem_class, commune_code, device_id, start, end, fault_id, system,
  raised_at: when its ticket should open when a rule delays it, else None),
  ``windows`` (maintenance windows to declare: ``declare_windows(engine, now)``) and
  ``saturday_communes``; ``ScenarioError`` names the file, fault and field.
- Driver (:mod:`sim.driver`): ``Driver(fleet, *, base_url, spool_dir, clock, faults=(),
  transport=None, interval_seconds=60, concurrency=64, calendar=None)``; ``enrol(engine)`` or
  ``enrol_via_api(...)``; ``backfill(start, end, step_seconds=3600, progress=None, only=None,
  concurrency=8, base_url=None, sent_clock=None) -> BackfillResult``; ``open_spools()``;
  ``step(at=None) -> StepResult`` (measure, spool, send: tests drive it with a fake clock);
  ``run(stop, on_step=None, after_step=None, pause=None)`` (paced on a ``SimClock``, held at each
  step until it is delivered); ``aclose()``. ``SimClock(start, speed)`` (:mod:`sim.clock`) is the
  one clock every component of a run reads; ``set_speed``, ``hold(until)``.
- Ground truth checks (:mod:`sim.symptoms`): ``read_journal(engine, agents_by_id)``,
  ``observed_symptoms(reports, interval_seconds, calendar=None)`` finds the symptoms each fault
  leaves in stored reports, and ``compare(ground_truth, symptoms) -> TruthCheck`` (``missing``,
  ``unexplained``).
- The demo's timeline (:mod:`sim.timeline`): ``default_start``, ``parse_start``,
  ``calendar_text`` (the calendar with the scenario's Saturday communes), ``Pace``, ``Pacer``
  (the sweep and the pace after each step), ``StatusLine`` and ``timeline`` (what happens when).
- History through separate processes (:mod:`sim.history`): ``history_collector(settings,
  log_file)`` runs ``serve --no-processor`` and ``process`` children for a fast back-fill.
"""

from sim.backfill import BackfillResult
from sim.behaviour import Behaviour, load_factor
from sim.clock import SimClock
from sim.driver import Driver, StepResult, utc_minute
from sim.faults import Fault, FaultType, FaultView
from sim.fleet import Fleet, SimAgent, SimCommune, SimDevice, generate_fleet
from sim.scenario import (
    ResolvedScenario,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_duration,
    parse_scenario,
)
from sim.truth import ExpectedIncident

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
