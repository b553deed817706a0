"""Many communes silent at once: one upstream_outage for the province's network owner."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from alerts.detectors.upstream import UpstreamDetector
from alerts.rules import load_rules, parse_rules
from tests.alerts.support import HEARTBEAT, World, pc, router


def _sites(world: World, communes: int) -> list[str]:
    chosen = world.communes[:communes]
    for commune in chosen:
        world.enrol(commune, [router(f"{commune}-RT")])
        world.enrol(commune, [pc(f"{commune}-PC-0")])
    return chosen


def test_the_threshold_is_a_share_or_a_count_never_below_the_floor(engine: Engine) -> None:
    world = World(engine)
    upstream = UpstreamDetector(world.alerts.desk, load_rules())
    assert upstream.threshold(10) == 3  # 30 % of 10
    assert upstream.threshold(4) == 3  # the floor
    assert upstream.threshold(170) == 20  # 20 communes, before 30 % (51)
    small = UpstreamDetector(world.alerts.desk, parse_rules("upstream: {floor: 5}"))
    assert small.threshold(10) == 5


def test_the_collectors_uplink_down_is_one_upstream_outage_not_a_site_outage_each(
    engine: Engine,
) -> None:
    world = World(engine)
    communes = _sites(world, 12)
    for _ in range(3):
        world.tick()
    everyone = frozenset(communes)
    start = world.clock.now()
    for _ in range(20):  # 20 minutes: nothing reaches the collector; the agents keep spooling
        world.tick(cut=everyone)
    world.tick()  # the uplink is back: every agent replays
    for _ in range(3):
        world.tick()
    found = world.tickets()
    assert [(t.problem_class, t.commune_code, t.owner) for t in found] == [
        ("upstream_outage", None, "mang-tinh")
    ]
    (ticket,) = found
    assert sorted(json.loads(ticket.evidence)["communes"]) == sorted(communes)
    assert abs((ticket.started_at - start).total_seconds()) <= HEARTBEAT
    assert ticket.ended_at is not None
    assert "Mất kết nối nhiều xã cùng lúc" in ticket.title_vi


def test_one_commune_silent_alone_is_still_its_site_outage(engine: Engine) -> None:
    world = World(engine)
    communes = _sites(world, 12)
    for _ in range(3):
        world.tick()
    for _ in range(5):
        world.tick(cut=frozenset(communes[:1]))
    world.tick()
    assert [(t.problem_class, t.commune_code) for t in world.tickets()] == [
        ("site_outage", communes[0])
    ]


def test_a_commune_still_silent_after_the_upstream_outage_gets_its_own_ticket(
    engine: Engine,
) -> None:
    world = World(engine)
    communes = _sites(world, 12)
    for _ in range(3):
        world.tick()
    for _ in range(10):
        world.tick(cut=frozenset(communes))
    # The uplink returns but one commune stays cut (its own fault).
    for _ in range(8):
        world.tick(cut=frozenset(communes[:1]))
    classes = sorted((t.problem_class, t.commune_code or "") for t in world.tickets())
    assert classes == [("site_outage", communes[0]), ("upstream_outage", "")]
