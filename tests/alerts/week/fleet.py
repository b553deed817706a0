"""The week's communes and agents, and what each measures at an instant.

Each commune has a site agent in its network rack (its router, with the line's ping, and three
printers over SNMP: always on) and four counter PCs (the PC and its probes of three central
systems), 21 devices a commune. Reports are built by the helpers of tests/alerts/support.py
(probe results recorded from the agent's own check), the PCs' start and goodbye events by the
agent's own functions (agent/self_report.py), and validated by the wire models once per distinct
shape: a week has hundreds of thousands of reports but only a few hundred shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine

from agent.lifecycle import PreviousStop, StopReason, Uptime
from agent.self_report import started_event, stopping_event
from agent.spool import Spool
from agent.wire import DeviceReport
from collector import agents
from collector.agents import AgentIdentity
from sim.presence import PowerSpan, Presence
from tests.alerts.support import expand, pc, printer, router
from tests.alerts.week.plan import WeekPlan

PCS = 4
PRINTERS = 3
TARGETS = ("motcua", "dichvucong", "ca-gov")
HOSTS = {
    "motcua": "motcua.ninhbinh.gov.vn",
    "dichvucong": "dichvucong.gov.vn",
    "ca-gov": "ca.gov.vn",
}
_DEVICES: TypeAdapter[list[DeviceReport]] = TypeAdapter(list[DeviceReport])


@dataclass
class WeekAgent:
    """One enrolled agent and what is waiting to be sent."""

    identity: AgentIdentity
    commune: int
    code: str
    name: str  # "site", "pc:0" ...
    seq: int = 0
    backlog: list[dict[str, Any]] = field(default_factory=list)
    # A real agent spool (the communes whose cut is replayed from disk).
    spool: Spool | None = None
    # The power span the PC was last seen in (None: off), for its start and goodbye.
    span: PowerSpan | None = None
    on: bool = False

    @property
    def site(self) -> bool:
        return self.name == "site"

    def device_id(self, name: str | None = None) -> str:
        return f"{self.code}-{(name or self.name).replace(':', '-').upper()}"


class Shapes:
    """Validated device lists by shape, so that each distinct one is validated once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, ...], list[DeviceReport]] = {}
        self.validated = 0

    def devices(self, key: tuple[Any, ...], build: Any) -> list[DeviceReport]:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _DEVICES.validate_python(expand(build()))
            self.validated += 1
        return found


@dataclass(frozen=True, slots=True)
class State:
    """What the world is like at one instant, for the measurements."""

    at: datetime
    line_down: frozenset[int]
    software: dict[str, str]  # target -> state, for every commune
    slow_commune: int | None
    printer_jam: tuple[int, int] | None
    toner_empty: tuple[int, int] | None
    disk_full: tuple[int, int] | None


def state_at(plan: WeekPlan, at: datetime) -> State:
    """The world at ``at`` by the week's plan."""
    software: dict[str, str] = {}
    for target, state, span in plan.software:
        if span.holds(at):
            software[target] = state
    slow, slow_span = plan.slow_commune
    jam = plan.printer_jam
    toner = plan.toner_empty
    disk = plan.disk_full
    return State(
        at=at,
        line_down=frozenset(
            commune
            for commune, spans in plan.link_down.items()
            if any(span.holds(at) for span in spans)
        ),
        software=software,
        slow_commune=slow if slow_span.holds(at) else None,
        printer_jam=jam[:2] if jam[2].holds(at) else None,
        toner_empty=toner[:2] if toner[2].holds(at) else None,
        disk_full=disk[:2] if disk[2].holds(at) else None,
    )


class WeekFleet:
    """The communes, their agents and their measurements."""

    def __init__(
        self, codes: list[str], presence: Presence, plan: WeekPlan, spool_dir: Path
    ) -> None:
        self.codes = codes
        self.presence = presence
        self.plan = plan
        self.spool_dir = spool_dir
        self.agents: list[WeekAgent] = []
        self.shapes = Shapes()

    @property
    def devices(self) -> int:
        """Devices in the fleet: a site's router, line and printers; each PC and its probes."""
        return len(self.codes) * (2 + PRINTERS + PCS * (1 + len(TARGETS)))

    def enrol(self, engine: Engine, now: datetime, spooled: set[int]) -> None:
        """Enrol every agent; those of communes in ``spooled`` keep a real agent spool."""
        for index, code in enumerate(self.codes):
            for name in ("site", *(f"pc:{i}" for i in range(PCS))):
                token = agents.create_enrol_token(engine, code, now, timedelta(hours=1))
                enrolment = agents.enrol(engine, token, f"{code}-{name}", "week", now)
                identity = agents.authenticate(engine, enrolment.agent_token)
                agent = WeekAgent(identity, index, code, name)
                if index in spooled:
                    agent.spool = Spool(self.spool_dir / f"{code}-{name.replace(':', '-')}.db")
                self.agents.append(agent)

    def power(self, agent: WeekAgent, at: datetime) -> PowerSpan | None:
        """The span a PC is on in at ``at`` (None: off), with the plan's crash and no-start."""
        plan = self.plan
        if agent.site:
            return None
        index = int(agent.name.partition(":")[2])
        for commune, pc_index, span in (plan.pc_crash, plan.pc_not_started):
            if (commune, pc_index) == (agent.commune, index) and span.holds(at):
                return None
        span = self.presence.span(agent.device_id(), agent.code, at)
        if span is None:
            return None
        crash = plan.pc_crash
        if (crash[0], crash[1]) == (agent.commune, index) and span.on_at < crash[2].end <= at:
            # Back from the crash: the same day's span, started again without a goodbye before.
            return PowerSpan(crash[2].end, span.off_at, span.clean_end, PreviousStop.UNCLEAN)
        late = plan.pc_not_started
        if (late[0], late[1]) == (agent.commune, index) and span.on_at < late[2].end <= at:
            return PowerSpan(late[2].end, span.off_at, span.clean_end, span.previous_stop)
        return span

    def measure(self, agent: WeekAgent, state: State) -> list[tuple[datetime, list[DeviceReport]]]:
        """The reports ``agent`` spools now, measured at their times: a PC's goodbye (a clean
        shutdown since its last report) and start, then its measurement unless it is off."""
        if agent.site:
            return [(state.at, self._site(agent, state))]
        span = self.power(agent, state.at)
        reports: list[tuple[datetime, list[DeviceReport]]] = []
        last = agent.span
        if last is not None and (span is None or span.on_at != last.on_at):
            # Off since: a goodbye if its day ended cleanly, none if it crashed meanwhile.
            if last.clean_end and state.at >= last.off_at:
                reports.append((last.off_at, self._goodbye(agent, last)))
            agent.span = None
        if span is None:
            return reports
        if agent.span is None:
            reports.append((span.on_at, self._hello(agent, span)))
            agent.span = span
        reports.append((state.at, self._pc(agent, state)))
        return reports

    def _site(self, agent: WeekAgent, state: State) -> list[DeviceReport]:
        up = agent.commune not in state.line_down
        levels = tuple(
            (
                0.0 if state.toner_empty == (agent.commune, i) else 60.0,
                state.printer_jam == (agent.commune, i),
            )
            for i in range(PRINTERS)
        )
        return self.shapes.devices(
            ("site", agent.code, up, levels),
            lambda: [
                router(agent.device_id("rt"), wan_up=up),
                *(
                    printer(agent.device_id(f"printer:{i}"), level=level, jammed=jammed)
                    for i, (level, jammed) in enumerate(levels)
                ),
            ],
        )

    def _pc(self, agent: WeekAgent, state: State) -> list[DeviceReport]:
        index = int(agent.name.partition(":")[2])
        if agent.commune in state.line_down:
            probes = dict.fromkeys(TARGETS, "cut")
        elif state.slow_commune == agent.commune:
            probes = dict.fromkeys(TARGETS, "slow")
        else:
            probes = {target: state.software.get(target, "ok") for target in TARGETS}
        disk = 97.0 if state.disk_full == (agent.commune, index) else 50.0
        key = ("pc", agent.code, agent.name, disk, tuple(sorted(probes.items())))
        return self.shapes.devices(
            key,
            lambda: [pc(agent.device_id(), disk=disk, probe=probes, targets=TARGETS, hosts=HOSTS)],
        )

    def _hello(self, agent: WeekAgent, span: PowerSpan) -> list[DeviceReport]:
        event = started_event(
            "week",
            "central",
            None,
            previous_stop=PreviousStop(span.previous_stop),
            uptime=Uptime.at(span.on_at, span.on_at.timestamp() - 40),
        )
        return [DeviceReport(device_id=agent.device_id(), kind="pc", events=[event])]

    def _goodbye(self, agent: WeekAgent, span: PowerSpan) -> list[DeviceReport]:
        uptime = Uptime.at(span.off_at, span.on_at.timestamp() - 40)
        event = stopping_event(StopReason.SHUTDOWN, uptime)
        return [DeviceReport(device_id=agent.device_id(), kind="pc", events=[event])]
