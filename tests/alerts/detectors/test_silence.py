"""Silence judged against what was expected: evenings, goodbyes, PCs that did not start."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from agent.vntime import VN_TZ
from alerts.schema import alerts as members
from tests.alerts.sites import commune_with_site
from tests.alerts.support import HEARTBEAT, Agent, World, goodbye, pc, printer, router
from tests.fakes import FakeClock
from tests.stores import on_scenario_stores

# Friday 11 December 2026, 16:30 in Hà Nội.
FRIDAY_AFTERNOON = datetime(2026, 12, 11, 16, 30, tzinfo=VN_TZ).astimezone(UTC)


def _province(world: World, communes: int, pcs: int = 3) -> dict[str, list[Agent]]:
    made: dict[str, list[Agent]] = {}
    for commune in world.communes[:communes]:
        made[commune] = [world.enrol(commune, [pc(f"{commune}-PC-{i}")]) for i in range(pcs)]
        made[commune].append(
            world.enrol(commune, [router(f"{commune}-RT"), printer(f"{commune}-PR")])
        )
    return made


def _until(world: World, local: datetime, **tick: frozenset[str]) -> None:
    while world.clock.now() < local.astimezone(UTC):
        world.tick(**tick)


# A weekend minute by minute (about 3,800 sweeps): minutes on PostgreSQL on a busy machine.
@on_scenario_stores
@pytest.mark.timeout(1800)
def test_an_ordinary_evening_and_weekend_raise_nothing(engine: Engine) -> None:
    world = World(engine, clock=FakeClock(FRIDAY_AFTERNOON))
    made = _province(world, 4)
    for _ in range(3):
        world.tick()
    pcs = [agent for agent in world.agents if agent.devices[0]["kind"] == "pc"]
    # Around closing: most PCs shut down cleanly (a goodbye in their last report), some are cut
    # at the wall after hours (no goodbye), one is left on and keeps reporting.
    clean, wall, left_on = pcs[:7], pcs[7:11], pcs[11:]
    off: set[str] = set()
    for number, agent in enumerate(clean):
        _until(world, datetime(2026, 12, 11, 16, 41 + 3 * number, tzinfo=VN_TZ))
        agent.devices = [goodbye(agent.devices[0])]
        world.tick(silent=frozenset(off))
        off.add(agent.identity.agent_id)
    _until(world, datetime(2026, 12, 11, 17, 35, tzinfo=VN_TZ), silent=frozenset(off))
    off |= {agent.identity.agent_id for agent in wall}
    # Saturday and Sunday pass with the site agents (and the PC left on) reporting.
    _until(world, datetime(2026, 12, 13, 23, 0, tzinfo=VN_TZ), silent=frozenset(off))
    assert world.tickets() == []
    assert left_on
    # Monday: every PC starts before the grace ends.
    for agent in clean + wall:
        agent.devices = [pc(agent.devices[0]["device_id"])]
    _until(world, datetime(2026, 12, 14, 8, 0, tzinfo=VN_TZ))
    assert world.tickets() == []
    assert set(made)


@on_scenario_stores
def test_a_pc_that_did_not_start_on_monday_is_one_ticket_from_the_end_of_the_grace(
    engine: Engine,
) -> None:
    world = World(engine, clock=FakeClock(FRIDAY_AFTERNOON))
    made = _province(world, 2)
    # Friday: everyone works until after closing, then the PCs are switched off at the wall.
    _until(world, datetime(2026, 12, 11, 17, 20, tzinfo=VN_TZ))
    pcs = [agent for agent in world.agents if agent.devices[0]["kind"] == "pc"]
    dead = made[world.communes[0]][1]
    off = frozenset(agent.identity.agent_id for agent in pcs)
    _until(world, datetime(2026, 12, 14, 7, 0, tzinfo=VN_TZ), silent=off)
    assert world.tickets() == []
    _until(
        world,
        datetime(2026, 12, 14, 8, 0, tzinfo=VN_TZ),
        silent=frozenset({dead.identity.agent_id}),
    )
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.device_id, ticket.owner) == (
        "device_down",
        dead.devices[0]["device_id"],
        "commune-it",
    )
    assert ticket.started_at == datetime(2026, 12, 14, 7, 30, tzinfo=VN_TZ)
    assert "không khởi động" in ticket.body_vi


def test_all_counter_pcs_silent_while_the_site_reports_is_one_ticket(engine: Engine) -> None:
    world = World(engine)
    made = _province(world, 1)
    world.tick()
    pcs = frozenset(agent.identity.agent_id for agent in made[world.communes[0]][:-1])
    for _ in range(5):
        world.tick(silent=pcs)
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.device_id) == ("device_down", None)
    assert json.loads(ticket.evidence)["silent_pcs"] == sorted(pcs)
    with engine.connect() as conn:
        attached = set(conn.execute(select(members.c.subject)).scalars())
    assert attached == set(pcs)
    world.tick()  # one PC is back: the commune's incident ends
    (ticket,) = world.tickets()
    assert ticket.ended_at is not None


def test_a_commune_closed_for_the_night_is_not_down_but_its_cut_site_agent_is(
    engine: Engine,
) -> None:
    world = World(engine, clock=FakeClock(FRIDAY_AFTERNOON))
    made = _province(world, 2)
    _until(world, datetime(2026, 12, 11, 17, 10, tzinfo=VN_TZ))
    pcs = frozenset(
        agent.identity.agent_id for agent in world.agents if agent.devices[0]["kind"] == "pc"
    )
    _until(world, datetime(2026, 12, 11, 22, 0, tzinfo=VN_TZ), silent=pcs)
    assert world.tickets() == []
    # At night the site agent of the first commune falls silent too, with no goodbye: the site
    # should be up (a site agent is expected always), so its link is down.
    cut = made[world.communes[0]][-1].identity.agent_id
    start = world.clock.now()
    for _ in range(5):
        world.tick(silent=pcs | {cut})
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.commune_code, ticket.owner) == (
        "site_outage",
        world.communes[0],
        "isp",
    )
    assert ticket.started_at - start <= timedelta(seconds=HEARTBEAT)


def test_device_down_when_one_pc_is_silent_while_neighbours_report(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    made = commune_with_site(world, commune)
    for _ in range(2):
        world.tick()
    off = made[1].identity.agent_id
    fault_start = world.clock.now()
    for _ in range(5):
        world.tick(silent=frozenset({off}))
    back = world.clock.now()
    world.tick()
    found = world.tickets()
    assert [(t.problem_class, t.device_id, t.owner) for t in found] == [
        ("device_down", f"{commune}-PC-1", "commune-it")
    ]
    assert found[0].started_at == fault_start
    assert found[0].ended_at == back
    assert found[0].opened_at - fault_start <= timedelta(seconds=1.5 * HEARTBEAT)
