"""Maintenance windows and silences (alerts/windows.py): checked, recurring, and the maintenance
pages a central system shows with no window declared; over time in detectors/test_windows.py."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from agent.vntime import VN_TZ
from alerts.windows import Scope, Window, WindowSpec
from tests.alerts.support import World, pc
from tests.fakes import FakeClock


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"starts_at": datetime(2026, 12, 12, 22, 0)}, "time zone"),
        ({"ends_at": vn(12, 21)}, "after starts_at"),
        ({"recurrence": "weekly"}, "weekdays"),
        ({"weekdays": (6,)}, "weekly windows"),
        ({"scope": {"communes": ["1328"]}}, "5-digit"),
        ({"scope": {"problem_classes": ["printer_jam"]}}, "problem_classes"),
        ({"reason": "x"}, "reason"),
    ],
)
def test_a_bad_window_is_refused_naming_the_field(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "reason": "Nâng cấp hệ thống",
        "starts_at": vn(12, 22),
        "ends_at": vn(13, 1),
    }
    with pytest.raises(ValidationError, match=message):
        WindowSpec.model_validate({**base, **fields})


def test_a_weekly_night_window_covers_past_midnight_only_for_its_length() -> None:
    spec = WindowSpec(
        reason="Sao lưu hằng tuần",
        starts_at=vn(1, 0),
        ends_at=vn(31, 0),
        recurrence="weekly",
        weekdays=(6,),  # Saturday
        local_start=time(22, 0),
        duration_minutes=180,
        scope=Scope(systems=("motcua",)),
    )
    window = Window(1, spec, "dost", vn(1, 0), None)
    assert window.covers(vn(13, 0, 30), "software_outage", None, None, "motcua")  # Sunday 00:30
    assert not window.covers(vn(13, 1, 30), "software_outage", None, None, "motcua")
    assert not window.covers(vn(12, 21, 59), "software_outage", None, None, "motcua")
    assert not window.covers(vn(13, 0, 30), "software_outage", None, None, "dvcqg")
    assert not window.covers(vn(13, 0, 30), "site_outage", "13285", None, None)
    cancelled = Window(1, spec, "dost", vn(1, 0), vn(12, 23, 0))
    assert not cancelled.covers(vn(13, 0, 30), "software_outage", None, None, "motcua")


def _maintenance_world(engine: Engine) -> World:
    world = World(engine, clock=FakeClock(vn(14, 9, 0)))
    for commune in world.communes[:4]:
        world.enrol(commune, [pc(f"{commune}-PC-0")])
    world.tick()
    return world


def _all_pages(world: World, state: str) -> None:
    for agent in world.agents:
        agent.devices = [pc(agent.devices[0]["device_id"], probe={"motcua": state})]


def test_an_undeclared_maintenance_page_in_opening_hours_is_an_outage(engine: Engine) -> None:
    world = _maintenance_world(engine)
    _all_pages(world, "maintenance")
    for _ in range(4):
        world.tick()
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.system) == ("software_outage", "motcua")
    assert "maintenance page shown" in ticket.body_en


def test_a_maintenance_page_at_night_troubles_no_citizen(engine: Engine) -> None:
    world = World(engine, clock=FakeClock(vn(14, 22, 0)))
    for commune in world.communes[:4]:
        world.enrol(commune, [pc(f"{commune}-PC-0", probe={"motcua": "maintenance"})])
    for _ in range(6):
        world.tick()
    assert world.tickets() == []
