"""Whether each agent should be reporting now, and if it is silent, why that is not a fault.

Silence is judged against what was expected (DESIGN.md invariant 6): a counter PC outside its
commune's opening hours (or before the grace after opening), a PC that said goodbye (a clean
shutdown, reboot or service stop) and has not been due back since, is simply off. A site agent,
which polls the commune's network from the rack, is expected always; so is any agent marked
``always``. What remains is silence that needs explaining: a fault.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from alerts.calendar import WorkingCalendar
from collector.schema import agents, device_state

# Device kinds a counter PC's agent reports: the PC itself and the services it probes. An agent
# reporting anything else polls the commune's network: a site agent.
PC_KINDS = frozenset({"pc", "service"})


class Schedule(StrEnum):
    """When an agent is expected to report (``agents.schedule``)."""

    AUTO = "auto"
    ALWAYS = "always"
    OPENING_HOURS = "opening_hours"


class Verdict(StrEnum):
    """What an agent's state means at one instant."""

    REPORTING = "reporting"
    # Silent, and rightly so: not expected now, or switched off with a goodbye.
    OFF = "off"
    # Silent while expected up, with nothing to explain it.
    SILENT = "silent"


@dataclass(frozen=True, slots=True)
class AgentState:
    """One agent as the sweep sees it."""

    id: str
    commune_code: str
    last_measured_at: datetime
    schedule: Schedule
    site: bool
    goodbye_at: datetime | None
    goodbye_reason: str | None

    @property
    def always_on(self) -> bool:
        """Whether the agent is expected at all hours."""
        return self.schedule is Schedule.ALWAYS or (self.schedule is Schedule.AUTO and self.site)

    @property
    def said_goodbye(self) -> bool:
        """Whether its last word was a goodbye."""
        return self.goodbye_at is not None and self.goodbye_at >= self.last_measured_at


@dataclass(frozen=True, slots=True)
class Judgement:
    """An agent's verdict at ``now`` and, when silent, since when it is a fault."""

    agent: AgentState
    verdict: Verdict
    # SILENT: when the fault began (its next report was due, or it was due to start); OFF: why.
    since: datetime | None = None
    reason: str = ""
    # SILENT because it never came up in the current session ("did not start").
    not_started: bool = False


class Expectation:
    """Judges agents against the working calendar and their goodbyes."""

    def __init__(self, calendar: WorkingCalendar, heartbeat: timedelta, limit: timedelta) -> None:
        self.calendar = calendar
        self.heartbeat = heartbeat
        self.limit = limit

    def expected(self, agent: AgentState, at: datetime) -> bool:
        """Whether ``agent`` should be reporting at ``at``."""
        return agent.always_on or self.calendar.expected_up(agent.commune_code, at)

    def due_since(
        self, agent: AgentState, after: datetime, now: datetime, *, next_session: bool = False
    ) -> datetime | None:
        """The first instant in [``after``, ``now``] at which ``agent`` was expected up; with
        ``next_session``, only from a session opening after ``after`` (a PC switched off with a
        goodbye is due back when the centre next opens, not for the rest of the day)."""
        if agent.always_on:
            return after
        for opened, closed in self.calendar.sessions(agent.commune_code, after, now, clip=False):
            if next_session and opened <= after:
                continue
            due = max(opened + self.calendar.grace, after)
            if due < closed and due <= now:
                return due
        return None

    def judge(self, agent: AgentState, now: datetime) -> Judgement:
        """The verdict on ``agent`` at ``now``."""
        if now - agent.last_measured_at <= self.limit:
            return Judgement(agent, Verdict.REPORTING)
        if not self.expected(agent, now):
            return Judgement(agent, Verdict.OFF, reason="outside_hours")
        goodbye = agent.said_goodbye
        due: datetime | None
        if goodbye and agent.always_on:
            # A site agent's reboot or restart: it gets one silence limit to come back.
            due = agent.last_measured_at + self.limit
            if now <= due:
                return Judgement(agent, Verdict.OFF, reason=agent.goodbye_reason or "goodbye")
        elif goodbye:
            # A goodbye explains the silence until the centre next opened after it.
            due = self.due_since(agent, agent.last_measured_at, now, next_session=True)
        else:
            due = self.due_since(agent, agent.last_measured_at + self.heartbeat, now)
        if due is None:
            return Judgement(agent, Verdict.OFF, reason=agent.goodbye_reason or "outside_hours")
        not_started = goodbye or due > agent.last_measured_at + self.heartbeat
        return Judgement(agent, Verdict.SILENT, since=due, not_started=not_started)


def load_states(conn: Connection, communes: Collection[str] | None = None) -> list[AgentState]:
    """Every enrolled agent that ever reported, with whether it is a site agent."""
    query = select(
        agents.c.id,
        agents.c.commune_code,
        agents.c.last_measured_at,
        agents.c.schedule,
        agents.c.goodbye_at,
        agents.c.goodbye_reason,
    ).where(agents.c.revoked_at.is_(None), agents.c.last_measured_at.is_not(None))
    if communes is not None:
        query = query.where(agents.c.commune_code.in_(list(communes)))
    rows: list[Any] = list(conn.execute(query))
    site = set(
        conn.execute(
            select(device_state.c.agent_id)
            .where(device_state.c.kind.not_in(sorted(PC_KINDS)))
            .distinct()
        ).scalars()
    )
    return [
        AgentState(
            id=row.id,
            commune_code=row.commune_code,
            last_measured_at=row.last_measured_at,
            schedule=_schedule(row.schedule),
            site=row.id in site,
            goodbye_at=row.goodbye_at,
            goodbye_reason=row.goodbye_reason,
        )
        for row in rows
    ]


def _schedule(value: str | None) -> Schedule:
    if value is None:
        return Schedule.AUTO
    try:
        return Schedule(value)
    except ValueError:
        return Schedule.AUTO
