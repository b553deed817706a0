"""Windows over time (alerts/detectors/windows.py): a maintenance declared for a system records
its outage without a ticket until it overruns the window, and a window stops the SLA clock of a
ticket it covers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from agent.vntime import VN_TZ
from alerts import windows
from alerts.schema import incidents, tickets
from alerts.windows import Scope, Window, WindowSpec
from tests.alerts.support import World, pc
from tests.fakes import FakeClock


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)


def _declare(engine: Engine, spec: WindowSpec, now: datetime) -> Window:
    with engine.begin() as conn:
        return windows.create(conn, spec, "dost-test", now)


def _maintenance_world(engine: Engine) -> World:
    world = World(engine, clock=FakeClock(vn(14, 9, 0)))
    for commune in world.communes[:4]:
        world.enrol(commune, [pc(f"{commune}-PC-0")])
    world.tick()
    return world


def _all_pages(world: World, state: str) -> None:
    for agent in world.agents:
        agent.devices = [pc(agent.devices[0]["device_id"], probe={"motcua": state})]


def test_a_declared_maintenance_is_recorded_without_a_ticket_until_it_overruns(
    engine: Engine,
) -> None:
    world = _maintenance_world(engine)
    window = _declare(
        engine,
        WindowSpec(
            reason="Nâng cấp phần mềm một cửa",
            starts_at=vn(14, 9, 2),
            ends_at=vn(14, 9, 12),
            scope=Scope(systems=("motcua",)),
        ),
        world.clock.now(),
    )
    world.tick()
    _all_pages(world, "maintenance")
    for _ in range(8):
        world.tick()
    assert world.tickets() == []
    with engine.connect() as conn:
        (row,) = conn.execute(select(incidents)).all()
    assert (row.problem_class, row.system, row.window_id) == (
        "software_outage",
        "motcua",
        window.id,
    )
    # The window ends at 09:12 and the page is still shown: it overran, a ticket opens.
    for _ in range(4):
        world.tick()
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.owner) == ("software_outage", "motcua-vendor")
    assert "maintenance page shown" in ticket.body_en
    assert "maintenance window" in ticket.body_en


def test_a_window_stops_the_sla_clock_of_a_ticket_it_covers(engine: Engine) -> None:
    world = _maintenance_world(engine)
    _all_pages(world, "fail")
    for _ in range(4):
        world.tick()
    (ticket,) = world.tickets()
    before = ticket.resolve_by
    _declare(
        engine,
        WindowSpec(
            reason="Khắc phục theo kế hoạch",
            starts_at=world.clock.now(),
            ends_at=world.clock.now() + timedelta(minutes=30),
            scope=Scope(problem_classes=("software_outage",)),
        ),
        world.clock.now(),
    )
    for _ in range(35):
        world.tick()
    (ticket,) = world.tickets()
    with engine.connect() as conn:
        row = conn.execute(select(tickets)).one()
    assert row.sla_paused_since is None
    # The owner's SLA runs in working hours: the 30 minutes paused (in opening hours) move its
    # deadline on by 30 minutes of working time (here across the lunch break: 11:01 → 13:31).
    calendar = world.alerts.calendar
    assert calendar.working_time(None, before, ticket.resolve_by) == timedelta(minutes=30)
    assert ticket.resolve_by == vn(14, 13, 31)
