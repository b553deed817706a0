"""A commune's link from measured evidence (alerts/detectors/link.py): one site_outage for a
cut commune, its start and end where the replayed reports put them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from alerts.schema import alerts
from tests.alerts.sites import commune_with_site
from tests.alerts.support import HEARTBEAT, World, pc, printer, router


def test_one_ticket_when_commune_link_is_down(engine: Engine) -> None:
    world = World(engine)
    cut_commune, other = world.communes[0], world.communes[1]
    cut_agents = commune_with_site(world, cut_commune)
    commune_with_site(world, other)
    for _ in range(3):
        world.tick()
    fault_start = world.clock.now()
    # The link is cut: PCs cannot reach anything, the router sees its WAN port down.
    for agent in cut_agents[:-1]:
        agent.devices = [pc(agent.devices[0]["device_id"], probe="cut")]
    cut_agents[-1].devices = [router(f"{cut_commune}-RT", wan_up=False), printer("x-PR")]
    raised_at = None
    for _ in range(10):
        world.tick(cut=frozenset({cut_commune}))
        if raised_at is None and world.tickets():
            raised_at = world.clock.now() - timedelta(seconds=HEARTBEAT)
    fault_end = world.clock.now()
    for agent in cut_agents[:-1]:
        agent.devices = [pc(agent.devices[0]["device_id"])]
    cut_agents[-1].devices = [router(f"{cut_commune}-RT"), printer("x-PR")]
    world.tick()  # the backlog is replayed, then the live report

    found = world.tickets()
    assert [(t.problem_class, t.commune_code, t.owner) for t in found] == [
        ("site_outage", cut_commune, "isp")
    ]
    ticket = found[0]
    assert raised_at is not None
    assert raised_at - fault_start <= timedelta(seconds=1.5 * HEARTBEAT)
    # Agent time: the replayed reports put the start and the end where they really were.
    assert ticket.started_at == fault_start
    assert ticket.ended_at == fault_end
    assert "Mất kết nối toàn bộ điểm" in ticket.title_vi
    assert "(mã " in ticket.title_vi
    with engine.connect() as conn:
        members = conn.execute(select(func.count()).select_from(alerts)).scalar_one()
    assert members == len(cut_agents)  # every silent agent kept, suppressed, under the one incident

    for _ in range(6):  # hold-down of 5 minutes
        world.tick()
    assert world.tickets()[0].state == "resolved"
