"""The province overview (web/province.py): statuses from the fed store, filters and sorts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from alerts.availability import Availability
from alerts.calendar import load_calendar
from alerts.expectation import Expectation
from tests.alerts.support import HEARTBEAT, World, pc
from tests.fakes import FakeClock
from tests.web.support import Province
from web.province import CommuneStatus, overview, select_communes

SILENCE = timedelta(seconds=HEARTBEAT * 1.5)
EXPECT = Expectation(load_calendar(), timedelta(seconds=HEARTBEAT), SILENCE)


def test_statuses_tickets_and_latency_from_the_store(province: Province) -> None:
    world = province.world
    data = overview(world.engine, world.clock.now(), EXPECT)
    lines = {line.code: line for line in data.communes}
    cut, other = lines[province.cut], lines[province.other]
    assert cut.status == "down"
    assert (cut.agents, cut.agents_reporting) == (3, 0)
    assert other.status == "degraded"
    assert {"device_health", "printer_fault"} <= set(other.problems)
    assert other.software_seconds == 0.4
    assert lines[world.communes[5]].status == "unmonitored"
    assert data.by_status["down"] == 1
    assert sum(data.by_status.values()) == len(data.communes)
    assert sum(data.tickets_by_owner.values()) == sum(line.open_tickets for line in lines.values())
    assert data.tickets_by_owner["isp"] >= 1
    assert cut.availability is not None
    assert other.availability is not None
    assert other.availability.month == 1.0
    without = overview(world.engine, world.clock.now(), EXPECT, with_availability=False)
    assert all(line.availability is None for line in without.communes)


def _line(code: str, name: str, status: str, tickets: int, month: float | None) -> CommuneStatus:
    line = CommuneStatus(code, name, "xa", status=status, open_tickets=tickets)  # type: ignore[arg-type]
    line.availability = Availability(month, month, month)
    return line


def test_select_filters_by_status_and_search_and_sorts() -> None:
    lines = [
        _line("00001", "Xã An Bình", "up", 0, 1.0),
        _line("00002", "Phường Bắc", "down", 1, 0.5),
        _line("00003", "Xã Cầu", "degraded", 3, None),
        _line("00004", "Xã Đông", "down", 2, 0.9),
    ]
    worst = select_communes(lines, status=None, query="", sort="status")
    assert [line.code for line in worst] == ["00004", "00002", "00003", "00001"]
    assert [x.code for x in select_communes(lines, status="down", query="", sort="code")] == [
        "00002",
        "00004",
    ]
    assert [x.code for x in select_communes(lines, status=None, query="xã", sort="name")] == [
        "00001",
        "00003",
        "00004",
    ]
    by_tickets = select_communes(lines, status=None, query="0000", sort="tickets")
    assert [x.code for x in by_tickets] == ["00003", "00004", "00002", "00001"]
    by_availability = select_communes(lines, status=None, query="", sort="availability")
    assert [x.code for x in by_availability] == ["00002", "00004", "00001", "00003"]


def test_a_commune_whose_agents_are_all_rightly_off_is_closed_not_down(engine: Engine) -> None:
    # Friday 16:50 in Hà Nội: two communes of counter PCs work until 17:05; then the first
    # one's PCs are switched off (after hours: rightly off) while the second keeps one PC on.
    world = World(engine, clock=FakeClock(datetime(2026, 12, 11, 9, 50, tzinfo=UTC)))
    closing, open_late = world.communes[:2]
    off = [world.enrol(closing, [pc(f"{closing}-PC-{i}")]) for i in range(2)]
    world.enrol(open_late, [pc(f"{open_late}-PC-0")])
    for _ in range(15):
        world.tick()
    for _ in range(60):
        world.tick(silent=frozenset(agent.identity.agent_id for agent in off))
    lines = {line.code: line for line in overview(world.engine, world.clock.now(), EXPECT).communes}
    assert lines[closing].status == "closed"
    assert lines[closing].agents_silent == 0
    assert lines[open_late].status == "up"
