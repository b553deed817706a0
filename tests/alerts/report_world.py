"""A month of tickets for the official report's tests, built through the real ingest path.

March 2026 (no public holiday in Vietnam), on the fake clock from Monday 2 March 08:00 Hà Nội:
the console's test province (tests/web/support.py: Phường Châu Sơn's link cut, a full disk and a
jammed printer at Phường Phủ Lý, users and a register), then

- the cut lasts 50 minutes: the ISP's ticket breaches its 30-minute response SLA (flagged by the
  sweep), is acknowledged late, and resolves itself within its 4 hours once the link is back;
- the commune IT officer acknowledges the disk ticket at once and never fixes it: its resolution
  is still open when March is reported;
- the printer is cleared after 20 minutes and its ticket resolves itself.

``independent_*`` recompute the figures straight from the rows, with their own calendar
arithmetic, to check ``alerts.official_report`` against.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from agent.vntime import VN_TZ
from alerts import tickets as ticket_ops
from alerts.schema import incidents, ticket_history, tickets
from tests.alerts.support import Agent, pc, printer, router
from tests.web.support import Province, build_province

MARCH_START = datetime(2026, 3, 1, tzinfo=VN_TZ)
MARCH_END = datetime(2026, 4, 1, tzinfo=VN_TZ)
# When March is reported: the morning of 2 April.
REPORTED_AT = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
# The province's default opening hours; March 2026 has no holiday nor make-up day.
SESSIONS = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))


@dataclass
class ReportWorld:
    """The fed province and its tickets by owner."""

    province: Province

    @property
    def engine(self) -> Engine:
        """The store."""
        return self.province.world.engine


def _ticket_of(province: Province, owner: str) -> int:
    ids = province.ticket_ids(owner)
    assert len(ids) == 1, (owner, ids)
    return ids[0]


def _line(agents: list[Agent], *, up: bool) -> None:
    """The cut commune's devices as measured with its line up or down."""
    for agent in agents:
        agent.devices = [
            router(d["device_id"], wan_up=up)
            if d["kind"] == "router"
            else pc(d["device_id"], probe="ok" if up else "cut")
            for d in agent.devices
        ]


def build_report_world(engine: Engine, tmp_path: Path) -> ReportWorld:
    """Feed March's tickets (see the module docstring) through the real path."""
    province = build_province(engine, tmp_path)
    world = province.world
    desk = world.alerts.desk
    cut = frozenset({province.cut})
    isp, commune_it = _ticket_of(province, "isp"), _ticket_of(province, "commune-it")
    ticket_ops.acknowledge(engine, desk, commune_it, "kythuat", world.clock.now(), scope=None)
    cut_agents = [a for a in world.agents if a.commune == province.cut]
    _line(cut_agents, up=False)  # what they measure while the line is down, replayed later
    for _ in range(17):
        world.tick(cut=cut)
    # The printer is cleared: its agent reports it fine from now on.
    site = next(a for a in world.agents if a.commune == province.other and len(a.devices) == 2)
    site.devices = [site.devices[0], printer(f"{province.other}-PR")]
    for _ in range(25):
        world.tick(cut=cut)
    ticket_ops.acknowledge(engine, desk, isp, "isp-tech", world.clock.now(), scope=None)
    for _ in range(6):
        world.tick(cut=cut)
    _line(cut_agents, up=True)
    for _ in range(8):  # the link is back: the backlog arrives, the outage ends, hold-down
        world.tick()
    return ReportWorld(province)


# -- independent arithmetic -------------------------------------------------------------------


def open_seconds(start: datetime, end: datetime) -> float:
    """Seconds of opening hours in [start, end): weekdays' sessions, Vietnam time."""
    total = 0.0
    day: date = start.astimezone(VN_TZ).date()
    while day <= end.astimezone(VN_TZ).date():
        if day.weekday() < 5:
            for opens, closes in SESSIONS:
                lo = max(start, datetime.combine(day, opens, VN_TZ))
                hi = min(end, datetime.combine(day, closes, VN_TZ))
                total += max(0.0, (hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


def outage_rows(engine: Engine, commune: str) -> list[Any]:
    """The commune's site outages as stored."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(incidents.c.started_at, incidents.c.ended_at).where(
                    incidents.c.problem_class == "site_outage",
                    incidents.c.commune_code == commune,
                )
            )
        )


def independent_availability(
    engine: Engine, commune: str, since: datetime, now: datetime
) -> tuple[float, float]:
    """(open seconds, down seconds) of ``commune`` in March from ``since``, straight from the
    incident rows (they never overlap in this scenario)."""
    start = max(MARCH_START, since)
    end = min(MARCH_END, now)
    down = 0.0
    for began, ended in outage_rows(engine, commune):
        down += open_seconds(max(began, start), min(ended or now, end))
    return open_seconds(start, end), down


def independent_sla(engine: Engine, now: datetime) -> dict[str, Counter[str]]:
    """Per owner: opened, response/resolution met/breached/pending, breach notices, from the
    ticket rows of March."""
    out: dict[str, Counter[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(tickets).where(
                tickets.c.opened_at >= MARCH_START, tickets.c.opened_at < MARCH_END
            )
        ).all()
        notices = conn.execute(
            select(tickets.c.owner, ticket_history.c.note)
            .join(tickets, tickets.c.id == ticket_history.c.ticket_id)
            .where(ticket_history.c.action == "breached")
        ).all()
    for row in rows:
        count = out.setdefault(row.owner, Counter())
        count["opened"] += 1
        answered = [t for t in (row.acknowledged_at, row.resolved_at) if t is not None]
        for sla, done, deadline, flag in (
            (
                "response",
                min(answered) if answered else None,
                row.respond_by,
                row.response_breached,
            ),
            ("resolution", row.resolved_at, row.resolve_by, row.resolution_breached),
        ):
            if flag or (done is not None and done > deadline) or (done is None and deadline < now):
                count[f"{sla}_breached"] += 1
            elif done is not None:
                count[f"{sla}_met"] += 1
            else:
                count[f"{sla}_pending"] += 1
    for owner, note in notices:
        out.setdefault(owner, Counter())[f"{note.split()[0]}_notices"] += 1
    return out
