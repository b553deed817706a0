"""Central systems seen from the counters (alerts/detectors/software.py): a province-wide failure
is one ticket for its vendor; slowness at one commune is that site's ticket or its line's. A
commune's own ``software_slow_site`` ticket ends when its own trouble does, even while the
commune still shows a central system's province-wide trouble (which is the vendor's ticket)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from tests.alerts.support import HEARTBEAT, Agent, World, pc, router


def _province(world: World) -> list[Agent]:
    """Eight communes with two counter PCs each, probing both central systems, settled."""
    made = [
        world.enrol(code, [pc(f"{code}-PC-{i}")]) for code in world.communes[:8] for i in range(2)
    ]
    for _ in range(3):
        world.tick()
    return made


def _set(agents: list[Agent], probe: str | dict[str, str] = "ok") -> None:
    for agent in agents:
        agent.devices = [pc(agent.devices[0]["device_id"], probe=probe)]


def _slow_here(world: World, pcs: list[Agent]) -> tuple[str, datetime]:
    """One commune slow on the provincial system alone until its own ticket is open."""
    slow = world.communes[3]
    start = world.clock.now()
    _set([a for a in pcs if a.commune == slow], {"motcua": "slow"})
    for _ in range(3):
        world.tick()
    assert [(t.problem_class, t.commune_code, t.state) for t in world.tickets()] == [
        ("software_slow_site", slow, "open")
    ]
    return slow, start


def test_site_ticket_ends_when_a_province_wide_maintenance_page_follows_its_slowness(
    engine: Engine,
) -> None:
    world = World(engine)
    pcs = _province(world)
    slow, start = _slow_here(world, pcs)
    # The slowness is over there, and within the probe window the national portal shows its
    # maintenance page to every commune, that one included: the portal operator's ticket.
    recovered = world.clock.now()
    _set(pcs, {"dvcqg": "maintenance"})
    for _ in range(4):
        world.tick()
    page_end = world.clock.now()
    _set(pcs)
    for _ in range(2):
        world.tick()

    found = {(t.problem_class, t.commune_code, t.system): t for t in world.tickets()}
    assert set(found) == {
        ("software_slow_site", slow, "motcua"),
        ("software_outage", None, "dvcqg"),
    }
    site = found[("software_slow_site", slow, "motcua")]
    assert (site.started_at, site.ended_at) == (start, recovered)
    assert site.reopen_count == 0
    outage = found[("software_outage", None, "dvcqg")]
    assert (outage.started_at, outage.ended_at, outage.owner) == (
        recovered,
        page_end,
        "dvcqg-operator",
    )


def test_site_ticket_ends_when_its_system_fails_everywhere_and_stays_shut_after(
    engine: Engine,
) -> None:
    world = World(engine)
    pcs = _province(world)
    slow, start = _slow_here(world, pcs)
    # The same system now fails in every commune: no longer that commune's own trouble.
    wide = world.clock.now()
    _set(pcs, {"motcua": "maintenance"})
    for _ in range(4):
        world.tick()
    page_end = world.clock.now()
    _set(pcs)
    for _ in range(3):
        world.tick()

    found = {(t.problem_class, t.commune_code, t.system): t for t in world.tickets()}
    assert set(found) == {
        ("software_slow_site", slow, "motcua"),
        ("software_outage", None, "motcua"),
    }
    site = found[("software_slow_site", slow, "motcua")]
    assert (site.started_at, site.ended_at) == (start, wide)
    assert site.reopen_count == 0
    outage = found[("software_outage", None, "motcua")]
    assert (outage.ended_at, outage.owner) == (page_end, "motcua-vendor")


def test_site_ticket_stays_open_while_its_own_trouble_lasts_beside_a_wide_one(
    engine: Engine,
) -> None:
    world = World(engine)
    pcs = _province(world)
    slow, start = _slow_here(world, pcs)
    # Still slow on the provincial system there while the portal fails everywhere: the
    # commune's ticket goes on, the portal's is another.
    others = [a for a in pcs if a.commune != slow]
    _set(others, {"dvcqg": "maintenance"})
    _set([a for a in pcs if a.commune == slow], {"motcua": "slow", "dvcqg": "maintenance"})
    for _ in range(3):
        world.tick()
    site = next(t for t in world.tickets() if t.problem_class == "software_slow_site")
    assert (site.commune_code, site.started_at, site.ended_at) == (slow, start, None)
    assert any(t.problem_class == "software_outage" for t in world.tickets())


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
