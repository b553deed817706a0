"""Per-device threshold rules (alerts/detectors/thresholds.py): device_health and
printer_fault raised on the real ingest path, held down, reopened rather than duplicated.
"""

from __future__ import annotations

from sqlalchemy import Engine

from tests.alerts.sites import commune_with_site
from tests.alerts.support import World, pc, printer, router


def test_disk_ticket_resolves_after_hold_down_and_reopens_instead_of_duplicating(
    engine: Engine,
) -> None:
    world = World(engine)
    commune = world.communes[0]
    (agent, *_rest) = commune_with_site(world, commune)
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
