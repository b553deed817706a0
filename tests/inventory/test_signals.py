"""Measured signals of reconciled devices: failures from critical events and incidents, and
saturation from reports sent through the real ingest path (journal, processor, alert engine) on a
fake clock. Read through the ranking, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, select

from alerts.schema import incidents
from inventory.models import Asset, AssetKind
from inventory.priority import PriorityScore
from inventory.register_writer import register_to_csv
from inventory.reports import InventoryConfig, ranking
from inventory.store import import_register
from tests.alerts.support import World, pc
from tests.inventory.builders import NOW, add_agent, add_device, add_event

COMMUNE = "13285"


def asset(tag: str) -> Asset:
    # The agent's device id is the asset tag, which reconciliation matches.
    return Asset(
        asset_tag=tag,
        kind=AssetKind.PC,
        commune_code=COMMUNE,
        room="Quầy 1",
        put_into_use=date(2022, 6, 1),
        original_cost=14_000_000,
        serial=f"SN-{tag}",
    )


def term(score: PriorityScore, name: str) -> float:
    return next(t.contribution for t in score.terms if t.term == name)


def explanation(score: PriorityScore, name: str) -> str:
    return next(t.explanation_en for t in score.terms if t.term == name)


def register_pc(tag: str) -> Asset:
    return Asset(
        asset_tag=tag,
        kind=AssetKind.PC,
        commune_code=COMMUNE,
        room="Quầy 1",
        put_into_use=date(2021, 6, 1),
        original_cost=14_000_000,
        serial=f"SN-{tag}",
    )


def test_failures_count_critical_events_once_per_type_and_day(
    engine: Engine,
) -> None:
    config = InventoryConfig()
    import_register(
        engine,
        register_to_csv([register_pc("PC-A"), register_pc("PC-B")]),
        filename="r.csv",
        now=NOW,
    )
    add_agent(engine, "agent-1", COMMUNE)
    add_device(
        engine,
        agent_id="agent-1",
        commune_code=COMMUNE,
        device_id="pc-b",
        kind="pc",
        facts={"serial": "SN-PC-B"},
    )
    when = [
        (NOW - timedelta(days=3), "critical", "disk_failing"),
        (NOW - timedelta(days=3, hours=1), "critical", "disk_failing"),  # same day: once
        (NOW - timedelta(days=40), "critical", "disk_failing"),
        (NOW - timedelta(days=40), "critical", "host_down"),
        (NOW - timedelta(days=10), "warning", "memory_high"),  # not a failure
        (NOW - timedelta(days=400), "critical", "host_down"),  # older than 12 months
    ]
    for seq, (at, severity, kind) in enumerate(when, start=1):
        add_event(
            engine,
            agent_id="agent-1",
            commune_code=COMMUNE,
            device_id="pc-b",
            type_=kind,
            severity=severity,
            measured_at=at,
            journal_id=seq,
        )
    scores = ranking(engine, config, now=NOW)
    assert [s.asset_tag for s in scores] == ["PC-B", "PC-A"]
    failures = {s.asset_tag: next(t for t in s.terms if t.term == "failures") for s in scores}
    assert failures["PC-B"].explanation_en.startswith("3 failure(s)")
    assert failures["PC-A"].contribution == 0


def test_a_pc_short_of_memory_ranks_above_an_identical_idle_one(engine: Engine) -> None:
    world = World(engine)
    now = world.clock.now()
    import_register(
        engine, register_to_csv([asset("PC-HOT"), asset("PC-IDLE")]), filename="r.csv", now=now
    )
    world.enrol(COMMUNE, [pc("PC-HOT", memory=97.0)])
    world.enrol(COMMUNE, [pc("PC-IDLE", memory=20.0)])
    for _ in range(5):
        world.tick()
    scores = ranking(engine, InventoryConfig(), now=world.clock.now())
    by_tag = {score.asset_tag: score for score in scores}
    assert [score.asset_tag for score in scores] == ["PC-HOT", "PC-IDLE"]
    assert term(by_tag["PC-HOT"], "saturation") > term(by_tag["PC-IDLE"], "saturation")
    assert "memory p95 97 %" in explanation(by_tag["PC-HOT"], "saturation")
    assert "memory p95 20 %" in explanation(by_tag["PC-IDLE"], "saturation")
    # Nothing else differs: the failures term is empty for both.
    assert term(by_tag["PC-HOT"], "failures") == term(by_tag["PC-IDLE"], "failures") == 0


def test_reports_older_than_the_journal_window_are_not_read(engine: Engine) -> None:
    world = World(engine)
    import_register(
        engine, register_to_csv([asset("PC-HOT")]), filename="r.csv", now=world.clock.now()
    )
    world.enrol(COMMUNE, [pc("PC-HOT", memory=97.0)])
    world.tick()
    world.clock.advance(3 * 86_400)
    scores = ranking(engine, InventoryConfig(journal_days=1.0), now=world.clock.now())
    assert explanation(scores[0], "saturation") == "No measurements"


def test_an_incident_counts_as_one_failure_with_its_event(engine: Engine) -> None:
    world = World(engine)
    now = world.clock.now()
    import_register(
        engine, register_to_csv([asset("PC-FULL"), asset("PC-OK")]), filename="r.csv", now=now
    )
    full = pc("PC-FULL", disk=96.0)
    world.enrol(COMMUNE, [full])
    world.enrol(COMMUNE, [pc("PC-OK")])
    world.tick()
    with engine.connect() as conn:
        raised = conn.execute(
            select(incidents.c.signal).where(incidents.c.device_id == "PC-FULL")
        ).all()
    assert [row.signal for row in raised] == ["disk_full"]
    scores = {s.asset_tag: s for s in ranking(engine, InventoryConfig(), now=world.clock.now())}
    assert explanation(scores["PC-FULL"], "failures").startswith("1 failure(s)")
    assert term(scores["PC-OK"], "failures") == 0

    # The agent's own critical event of the same fault, the same day, is the same failure.
    full["events"] = [{"type": "disk_full", "severity": "critical", "message": "C: full"}]
    world.tick()
    scores = {s.asset_tag: s for s in ranking(engine, InventoryConfig(), now=world.clock.now())}
    assert explanation(scores["PC-FULL"], "failures").startswith("1 failure(s)")
