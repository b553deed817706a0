"""The week, minute by minute, through the collector's real ingest path.

Every two minutes (the heartbeat) the agents measure; those that can reach the collector send
what they hold, in one group commit as the HTTP ingest does; then the alert
engine's sweep runs and the processor consumes the journal (in a real collector both run on
their own timers; a sweep before the processing catches the processor behind). Agents of a cut
commune, and everyone while the collector's uplink is down or the collector is stopped, keep
their reports (a real agent spool for the communes whose cut is replayed from disk) and send
them when they can. The collector restarts with a new processor and alert engine, whose guards
start counting then. ``guards=False`` is the behaviour before issue 19: every agent is expected
at all hours, and no collector guard or upstream grouping holds (for the measure's figure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.vntime import local_date
from agent.wire import DeviceReport, Report, ReportBatch
from alerts import windows
from alerts.calendar import WorkingCalendar, parse_calendar
from alerts.engine import AlertEngine
from alerts.guards import CollectorProbes
from alerts.routing import load_routing
from alerts.rules import Rules, load_rules, parse_rules
from collector.decode import prepare_batch
from collector.ingest import BatchToStore, store_batches
from collector.metrics import IngestMetrics
from collector.processor import Processor
from collector.schema import communes
from sim.presence import Presence
from tests.alerts.week.fleet import WeekAgent, WeekFleet, state_at
from tests.alerts.week.plan import HEARTBEAT, TICK, WEEK, WEEK_START, WeekPlan, week_plan
from tests.fakes import FakeClock

COMMUNES = 50
_STEPS_A_DAY = int(timedelta(days=1) / TICK)
SEED = 19
BUNDLED_CALENDAR = Path(__file__).parents[3] / "alerts" / "calendar.yaml"


def always_open(codes: list[str]) -> WorkingCalendar:
    """The behaviour before issue 19: every agent expected at every hour of the week, weekend
    and holiday included, from the first minute (no grace after opening)."""
    first = local_date(WEEK_START)
    days = [str(first + timedelta(days=offset)) for offset in range(-1, WEEK.days + 2)]
    text = yaml.safe_dump(
        {
            "opening_hours": {"weekdays": [{"from": "00:00", "to": "23:59:59"}]},
            "grace_after_opening": "0m",
            "communes": {code: {"open": days} for code in codes},
        }
    )
    return parse_calendar(text, "always open")


def week_calendar(plan: WeekPlan, codes: list[str]) -> WorkingCalendar:
    """The bundled calendar, with the plan's communes open on Saturday mornings."""
    bundled = BUNDLED_CALENDAR.read_text(encoding="utf-8")
    overrides = ", ".join(
        f'"{codes[index]}": {{saturday_morning: true}}' for index in plan.saturday_communes
    )
    text = bundled.replace("communes: {}", f"communes: {{{overrides}}}")
    assert text != bundled
    return parse_calendar(text, "week calendar")


@dataclass
class Collector:
    """The collector's processing as one process has it: restarted means rebuilt."""

    processor: Processor
    alerts: AlertEngine


@dataclass
class WeekRun:
    """One run of the week on a store; see the module docstring."""

    engine: Engine
    spool_dir: Path
    guards: bool = True
    days: float = 7.0
    plan: WeekPlan = field(default_factory=week_plan)
    clock: FakeClock = field(default_factory=lambda: FakeClock(WEEK_START))
    progress: Callable[[str], None] | None = None
    reports_sent: int = 0
    seconds: float = 0.0
    # Sweeps the processing-lag guard held (the processor's pause).
    lag_guard_engaged: int = 0

    def __post_init__(self) -> None:
        with self.engine.connect() as conn:
            codes = list(conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars())
        assert len(codes) >= COMMUNES
        self.codes = codes[:COMMUNES]
        self.calendar = week_calendar(self.plan, self.codes)
        presence = Presence(self.calendar, SEED)
        self.fleet = WeekFleet(self.codes, presence, self.plan, self.spool_dir)
        self.rules = self._rules()
        self.routing = load_routing()
        self.collector = self._start()
        self.fleet.enrol(self.engine, self.clock.now(), spooled={1})
        self._declare_maintenance()

    def _rules(self) -> Rules:
        if self.guards:
            return load_rules()
        # Before issue 19 no upstream grouping existed: a floor no province reaches.
        return parse_rules("upstream: {floor: 100000, min_communes: 100000, share: 1.0}")

    def _start(self) -> Collector:
        clock = self.clock
        probes = None
        processor = Processor(self.engine, clock, IngestMetrics.create(CollectorRegistry()))
        if self.guards:
            probes = CollectorProbes(processing_lag=processor.lag_seconds)
        alerts = AlertEngine(
            self.engine,
            self.rules,
            self.routing,
            clock,
            heartbeat_seconds=HEARTBEAT.total_seconds(),
            calendar=self.calendar if self.guards else always_open(self.codes),
            probes=probes,
        )
        processor.add_consumer(alerts)
        return Collector(processor, alerts)

    def _declare_maintenance(self) -> None:
        """DOST declares the one-stop system's Saturday-night upgrade in advance."""
        span = self.plan.declared
        spec = windows.WindowSpec(
            reason="Nâng cấp hệ thống một cửa điện tử",
            starts_at=span.start,
            ends_at=span.end,
            scope=windows.Scope(systems=("motcua",)),
        )
        with self.engine.begin() as conn:
            windows.create(conn, spec, "so-khcn-admin", self.clock.now())

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        """Every step of the week (or of ``days``)."""
        began = time.perf_counter()
        ticks = int(timedelta(days=self.days) / TICK)
        assert timedelta(days=self.days) <= WEEK
        for tick in range(ticks):
            self._step()
            self.clock.advance(TICK.total_seconds())
            if self.progress is not None and (tick + 1) % _STEPS_A_DAY == 0:
                self.progress(
                    f"day {(tick + 1) // _STEPS_A_DAY}: {self.reports_sent} reports, "
                    f"{time.perf_counter() - began:.0f} s"
                )
        self.seconds = time.perf_counter() - began

    def _step(self) -> None:
        plan, now = self.plan, self.clock.now()
        state = state_at(plan, now)
        stopped = plan.collector_stopped.holds(now)
        if not stopped and plan.collector_stopped.holds(now - TICK):
            self.collector = self._start()  # back after its stop: a new process
        reachable = not stopped and not plan.uplink_down.holds(now)
        ready: list[WeekAgent] = []
        for agent in self.fleet.agents:
            for at, devices in self.fleet.measure(agent, state):
                self._spool(agent, at, devices)
            if reachable and agent.commune not in state.line_down and _holds(agent):
                ready.append(agent)
        if ready:
            self._send(ready)
        if stopped:
            return
        self.collector.alerts.sweep()
        guards = self.collector.alerts.guards
        if guards is not None and "processing_lag" in guards.active:
            self.lag_guard_engaged += 1
        if not plan.processor_paused.holds(now):
            self.collector.processor.drain()

    def _spool(self, agent: WeekAgent, at: object, devices: list[DeviceReport]) -> None:
        if agent.spool is not None:
            agent.spool.append(at, devices)  # type: ignore[arg-type]
            return
        agent.seq += 1
        agent.backlog.append(
            Report.model_construct(seq=agent.seq, measured_at=at, devices=devices)  # type: ignore[arg-type]
        )

    def _send(self, ready: list[WeekAgent]) -> None:
        """What each agent holds, in one transaction (the ingest's group commit)."""
        now = self.clock.now()
        items = []
        for agent in ready:
            reports = agent.spool.pending(500) if agent.spool is not None else agent.backlog
            batch = ReportBatch.model_construct(
                schema_version=1,
                agent_id=agent.identity.agent_id,
                sent_at=now,
                oldest_unacked_seq=None,
                reports=reports,
            )
            items.append(BatchToStore(agent.identity, prepare_batch(batch), now, timedelta(0)))
            self.reports_sent += len(reports)
        with self.engine.begin() as conn:
            results = store_batches(conn, items, 100_000)
        for agent, result in zip(ready, results, strict=True):
            assert not isinstance(result, Exception), result
            if agent.spool is not None:
                agent.spool.acknowledge(result.ack.acked_seq, result.ack.stored)
            else:
                agent.backlog = []


def _holds(agent: WeekAgent) -> bool:
    """Whether the agent has anything to send."""
    if agent.spool is not None:
        return agent.spool.stats().depth > 0
    return bool(agent.backlog)
