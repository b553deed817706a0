"""A simulated province: fleet, behaviour, faults and a driver that feeds a real collector.

It lives under ``collector/`` because it is province-side tooling: ``commune-monitor demo``, the
alerting, dashboard and UI tests and the benchmarks use it, and none of it is installed on commune
PCs (the ``agent`` extra stays small). It uses only the agent's public pieces (spool, sender, wire
schema) and the collector's public API, so what it exercises is the real ingest path.

- :mod:`collector.sim.fleet`: communes, sites and devices of one province, deterministic per seed;
- :mod:`collector.sim.behaviour`: what each device measures at a given simulated time;
- :mod:`collector.sim.scenario`: faults from YAML and the ground truth of incidents they cause;
- :mod:`collector.sim.driver`: simulated agents (spool + sender each) on an injected clock.
"""
