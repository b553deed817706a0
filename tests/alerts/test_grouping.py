"""Root-cause grouping on the real ingest path: one ticket per cause, routed to its owner."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from alerts.rules import parse_rules
from alerts.schema import alerts, outbox, ticket_history
from tests.alerts.support import HEARTBEAT, World, pc, printer, router


def _commune_with_site(world: World, commune: str, pcs: int = 3) -> list:
    made = [world.enrol(commune, [pc(f"{commune}-PC-{i}")]) for i in range(pcs)]
    made.append(world.enrol(commune, [router(f"{commune}-RT"), printer(f"{commune}-PR")]))
    return made


def test_one_ticket_when_commune_link_is_down(engine: Engine) -> None:
    world = World(engine)
    cut_commune, other = world.communes[0], world.communes[1]
    cut_agents = _commune_with_site(world, cut_commune)
    _commune_with_site(world, other)
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


def test_device_down_when_one_pc_is_silent_while_neighbours_report(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    made = _commune_with_site(world, commune)
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


def test_disk_ticket_resolves_after_hold_down_and_reopens_instead_of_duplicating(
    engine: Engine,
) -> None:
    world = World(engine)
    commune = world.communes[0]
    (agent, *_rest) = _commune_with_site(world, commune)
    world.tick()
    for cycle in range(2):
        agent.devices = [pc(f"{commune}-PC-0", disk=96.5)]
        for _ in range(2):
            world.tick()
        agent.devices = [pc(f"{commune}-PC-0", disk=60.0)]
        for _ in range(7):
            world.tick()
        found = world.tickets()
        assert len(found) == 1, cycle
        assert found[0].state == "resolved"
        assert found[0].reopen_count == cycle
    ticket = world.tickets()[0]
    assert ticket.problem_class == "device_health"
    assert "disk_used_percent{volume=C:}: 96.5" in ticket.body_vi


def test_province_wide_failure_is_one_vendor_ticket(engine: Engine) -> None:
    world = World(engine)
    pcs = [
        world.enrol(code, [pc(f"{code}-PC-{i}")]) for code in world.communes[:8] for i in range(2)
    ]
    for _ in range(3):
        world.tick()
    fault_start = world.clock.now()
    for agent in pcs:
        agent.devices = [pc(agent.devices[0]["device_id"], probe={"motcua": "fail"})]
    for _ in range(5):
        world.tick()
    fault_end = world.clock.now()
    for agent in pcs:
        agent.devices = [pc(agent.devices[0]["device_id"])]
    world.tick()
    found = world.tickets()
    # Only the provincial procedure system fails: one ticket, for its vendor; the national
    # portal, probed by the same PCs, raises nothing.
    assert [(t.problem_class, t.commune_code, t.system, t.owner) for t in found] == [
        ("software_outage", None, "motcua", "motcua-vendor")
    ]
    assert found[0].started_at == fault_start
    assert found[0].ended_at == fault_end
    for code in world.communes[:8]:
        assert f"({code})" in found[0].body_vi
    assert "một cửa điện tử" in found[0].title_vi
    assert "Xã bị ảnh hưởng (8)" in found[0].body_vi


def _slow_commune(
    engine: Engine, probe: str, rtt: float = 0.02, loss: float = 0.0
) -> tuple[World, str, datetime]:
    """Eight communes with two PCs and a router each; at one, the probes turn slow."""
    world = World(engine)
    pcs = [
        world.enrol(code, [pc(f"{code}-PC-{i}")]) for code in world.communes[:8] for i in range(2)
    ]
    routers = {code: world.enrol(code, [router(f"{code}-RT")]) for code in world.communes[:8]}
    for _ in range(3):
        world.tick()
    slow = world.communes[3]
    fault_start = world.clock.now()
    for agent in pcs:
        if agent.commune == slow:
            agent.devices = [pc(agent.devices[0]["device_id"], probe=probe)]
    routers[slow].devices = [router(f"{slow}-RT", rtt=rtt, loss=loss)]
    for _ in range(4):
        world.tick()
    return world, slow, fault_start


def test_slowness_at_one_commune_with_a_good_line_is_that_site_s_ticket(engine: Engine) -> None:
    world, slow, fault_start = _slow_commune(engine, "slow")
    found = world.tickets()
    assert [(t.problem_class, t.commune_code, t.owner) for t in found] == [
        ("software_slow_site", slow, "commune-it")
    ]
    assert found[0].started_at == fault_start
    assert found[0].opened_at - fault_start <= timedelta(seconds=1.5 * HEARTBEAT)
    assert "đường truyền bình thường" in found[0].body_vi


def test_slow_connect_phases_make_it_the_line_s_ticket(engine: Engine) -> None:
    world, slow, fault_start = _slow_commune(engine, "slow_path")
    found = world.tickets()
    assert [(t.problem_class, t.commune_code, t.owner) for t in found] == [
        ("site_link_degraded", slow, "isp")
    ]
    assert found[0].started_at == fault_start
    assert "connect+tls" in found[0].body_en


def test_site_ping_loss_makes_slowness_the_line_s(engine: Engine) -> None:
    world, slow, _start = _slow_commune(engine, "slow", loss=0.35)
    found = world.tickets()
    assert [(t.problem_class, t.commune_code, t.owner) for t in found] == [
        ("site_link_degraded", slow, "isp")
    ]
    assert "loss 35%" in found[0].body_en


def test_site_ping_rtt_makes_slowness_the_line_s(engine: Engine) -> None:
    world, _slow, _start = _slow_commune(engine, "slow", rtt=0.4)
    found = world.tickets()
    assert [(t.problem_class, t.owner) for t in found] == [("site_link_degraded", "isp")]


def test_toner_forecast_raises_before_the_level_is_low(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    site = world.enrol(commune, [router("R"), printer("PR", level=40.0)])
    level = 40.0
    # 6 points a day lost: empty within 3 days from 18 %, before the 10 % threshold is crossed.
    for _ in range(16):
        site.devices = [router("R"), printer("PR", level=level)]
        world.tick()
        world.clock.advance(6 * 3600 - HEARTBEAT)
        level -= 1.5
    found = world.tickets()
    assert [(t.problem_class, t.device_id, t.owner) for t in found] == [
        ("printer_supply_low", "PR", "printer-vendor")
    ]
    assert "forecast_empty_at" in found[0].body_vi
    assert level > 10


def test_printer_jam_raised_and_cleared(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    site = world.enrol(commune, [router("R"), printer("PR")])
    world.tick()
    start = world.clock.now()
    site.devices = [router("R"), printer("PR", jammed=True)]
    for _ in range(3):
        world.tick()
    end = world.clock.now()
    site.devices = [router("R"), printer("PR")]
    world.tick()
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.owner) == ("printer_fault", "printer-vendor")
    assert (ticket.started_at, ticket.ended_at) == (start, end)


def test_flapping_link_is_one_ticket_reopened_then_degraded(engine: Engine) -> None:
    rules = parse_rules("tickets: {hold_down: 2m, reopen_window: 1h}")
    world = World(engine, rules=rules)
    flappy, other = world.communes[0], world.communes[1]
    made = _commune_with_site(world, flappy)
    _commune_with_site(world, other)
    world.tick()
    first_down = world.clock.now()
    for _ in range(3):
        for agent in made[:-1]:
            agent.devices = [pc(agent.devices[0]["device_id"], probe="cut")]
        made[-1].devices = [router(f"{flappy}-RT", wan_up=False)]
        for _ in range(4):
            world.tick(cut=frozenset({flappy}))
        last_up = world.clock.now()
        for agent in made[:-1]:
            agent.devices = [pc(agent.devices[0]["device_id"])]
        made[-1].devices = [router(f"{flappy}-RT")]
        for _ in range(4):
            world.tick()
    (ticket,) = world.tickets()
    assert ticket.commune_code == flappy
    assert ticket.problem_class == "site_link_degraded"
    assert ticket.owner == "isp"
    assert ticket.reopen_count == 2
    assert ticket.started_at == first_down
    assert ticket.ended_at == last_up
    with engine.connect() as conn:
        actions = list(
            conn.execute(
                select(ticket_history.c.action)
                .where(ticket_history.c.ticket_id == ticket.id)
                .order_by(ticket_history.c.id)
            ).scalars()
        )
    assert actions.count("reopened") == 2
    assert "reclassified" in actions


def test_sla_breach_is_flagged_and_escalated(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (ticket,) = world.tickets()
    assert ticket.owner == "commune-it"
    assert ticket.respond_by - ticket.opened_at == timedelta(hours=2)
    world.clock.advance(2 * 3600)
    world.tick()
    (ticket,) = world.tickets()
    assert ticket.response_breached
    assert not ticket.resolution_breached
    with engine.connect() as conn:
        targets = set(
            conn.execute(
                select(outbox.c.owner, outbox.c.channel_id, outbox.c.target, outbox.c.urgent)
                .join(ticket_history, ticket_history.c.id == outbox.c.history_id)
                .where(ticket_history.c.action == "breached")
            ).all()
        )
    # The owner and the team it escalates to (routing.yaml: commune-it -> so-khcn), as
    # references to their channels (no address stored), urgent.
    assert targets == {("commune-it", "email", "", True), ("so-khcn", "email", "", True)}
