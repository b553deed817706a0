"""Daily rollups (inventory/rollups.py, rollup_reader.py): reports sent through the real ingest
path and processor, on SQLite and PostgreSQL; the expected figures are recomputed from the
values sent. The ranking and the plan read from rollups equal those of the journal scan on the
same history."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from alerts.schema import incidents
from collector.schema import journal
from inventory.measurements import SignalSource
from inventory.priority import PriorityScore
from inventory.reports import InventoryConfig, budget_plan, ranked
from inventory.rollups import RETENTION_DAYS, decode_histogram
from inventory.schema import inventory_rollups
from tests.inventory.rollup_history import COMMUNE, END, History, rollup_rows, vn_day

CRITICAL = "critical"


def event(kind: str, severity: str = CRITICAL) -> dict[str, str]:
    return {"type": kind, "severity": severity, "message": kind}


def term(score: PriorityScore, name: str) -> float:
    return next(t.contribution for t in score.terms if t.term == name)


def test_each_report_counts_on_its_vietnam_day(engine: Engine) -> None:
    history = History(engine)
    history.enrol("PC-A")
    late = datetime(2026, 3, 9, 16, 30, tzinfo=UTC)  # 23:30 on 9 March in Vietnam
    early = datetime(2026, 3, 9, 17, 30, tzinfo=UTC)  # 00:30 on 10 March
    history.send("PC-A", late, cpu=40.4, memory=70.5, disk=80, events=[event("disk_failing")])
    history.send(
        "PC-A",
        late + timedelta(minutes=10),
        cpu=40.6,
        memory=70.49,
        disk=81,
        smart_ok=False,
        events=[event("disk_failing"), event("memory_high", "warning")],
    )
    history.send("PC-A", early, cpu=5, memory=30, disk=82, events=[event("host_down")])
    history.process()
    rows = rollup_rows(engine)
    assert set(rows) == {(COMMUNE, "PC-A", vn_day(late)), (COMMUNE, "PC-A", vn_day(early))}
    ninth, tenth = rows[(COMMUNE, "PC-A", vn_day(late))], rows[(COMMUNE, "PC-A", vn_day(early))]
    assert (vn_day(late).day, vn_day(early).day) == (9, 10)
    assert ninth["reports"] == 2
    assert decode_histogram(ninth["cpu_hist"]) == {40: 1, 41: 1}
    assert decode_histogram(ninth["memory_hist"]) == {71: 1, 70: 1}  # 70.5 up, 70.49 down
    # The newest report of the day: its disk and its SMART warning.
    assert (ninth["disk_used_percent"], ninth["smart_warnings"]) == (81.0, 1)
    # A fault repeated in a day is one failure; a warning is none.
    assert (json.loads(ninth["failure_types"]), ninth["failures"]) == (["disk_failing"], 1)
    assert tenth["reports"] == 1
    assert decode_histogram(tenth["cpu_hist"]) == {5: 1}
    assert (tenth["disk_used_percent"], tenth["smart_warnings"]) == (82.0, 0)
    assert json.loads(tenth["failure_types"]) == ["host_down"]


def test_a_late_report_adds_to_its_day_without_replacing_newer_values(engine: Engine) -> None:
    history = History(engine)
    history.enrol("PC-A")
    newer = END - timedelta(hours=1)
    history.send("PC-A", newer, memory=40, disk=70)
    history.process()
    # Delivered later (the agent's spool after an outage), measured earlier the same day.
    history.send("PC-A", newer - timedelta(hours=2), memory=90, disk=95, smart_ok=False)
    history.process()
    (row,) = rollup_rows(engine).values()
    assert row["reports"] == 2
    assert decode_histogram(row["memory_hist"]) == {40: 1, 90: 1}
    assert (row["disk_used_percent"], row["smart_warnings"]) == (70.0, 0)


def _send_history(history: History) -> dict[str, set[tuple[str, date]]]:
    """Five days of three PCs, 12 reports a day each (integer values: rollups count whole
    percents, the journal scan exact values), with faults; returns each PC's critical event
    types and Vietnam days sent."""
    rng = random.Random(11)
    profiles = {"PC-HOT": (85, 99), "PC-MID": (55, 90), "PC-IDLE": (10, 40)}
    for tag in profiles:
        history.enrol(tag)
    critical: dict[str, set[tuple[str, date]]] = {tag: set() for tag in profiles}
    # Oldest first, processed as they come: the alert engine judges each moment's state.
    for day in reversed(range(5)):
        for slot in reversed(range(12)):
            at = END - timedelta(days=day, hours=slot, minutes=5)
            for tag, (low, high) in profiles.items():
                events = []
                if tag == "PC-MID" and day == 1 and slot in (2, 3):
                    events = [event("disk_failing")]  # twice a day: one failure
                if tag == "PC-MID" and day == 3 and slot == 0:
                    events = [event("host_down"), event("memory_high", "warning")]
                if tag == "PC-HOT" and day == 2 and slot == 5:
                    events = [event("disk_full")]  # the same fault as its incident below
                critical[tag] |= {
                    (e["type"], vn_day(at)) for e in events if e["severity"] == CRITICAL
                }
                full = tag == "PC-HOT" and day == 2 and slot in (5, 6)
                history.send(
                    tag,
                    at,
                    cpu=float(rng.randint(low, high)),
                    memory=float(rng.randint(low, high)),
                    disk=96.0 if full else float(rng.randint(40, 90)),
                    smart_ok=not (tag == "PC-IDLE" and day == 0),
                    events=events,
                )
            history.process()
    return critical


def test_rollups_give_the_same_ranking_and_plan_as_the_journal_scan(engine: Engine) -> None:
    history = History(engine)
    history.register(["PC-HOT", "PC-MID", "PC-IDLE", "PC-GONE"])
    critical = _send_history(history)
    with engine.connect() as conn:
        raised = conn.execute(
            select(incidents.c.device_id, incidents.c.signal, incidents.c.started_at)
        ).all()
    assert ("PC-HOT", "disk_full") in [(row.device_id, row.signal) for row in raised]
    config = InventoryConfig(journal_days=7.0, saturation_days=7.0)
    now = history.now
    from_rollups = ranked(engine, config, now=now)
    plan_from_rollups = budget_plan(engine, config, 30_000_000, now=now)
    with engine.begin() as conn:
        conn.execute(delete(inventory_rollups))
    from_journal = ranked(engine, config, now=now)
    plan_from_journal = budget_plan(engine, config, 30_000_000, now=now)

    assert from_rollups.measurements is not None
    assert from_journal.measurements is not None
    assert from_rollups.measurements.source is SignalSource.ROLLUPS
    assert from_journal.measurements.source is SignalSource.JOURNAL
    assert from_rollups.scores == from_journal.scores
    unchanging = {"solve_seconds", "measurements"}
    assert plan_from_rollups.model_dump(exclude=unchanging) == plan_from_journal.model_dump(
        exclude=unchanging
    )
    # Not a trivial equality: the terms differ between the PCs, as the history made them.
    by_tag = {score.asset_tag: score for score in from_rollups.scores}
    assert [s.asset_tag for s in from_rollups.scores][:1] == ["PC-HOT"]
    assert term(by_tag["PC-HOT"], "saturation") > term(by_tag["PC-MID"], "saturation") > 0
    assert term(by_tag["PC-IDLE"], "saturation") > 0  # its SMART warning
    assert term(by_tag["PC-GONE"], "saturation") == 0
    # Failures recomputed: distinct (type, day) of critical events, plus each incident that is
    # not the same fault as an event of its signal on its day.
    for tag, events in critical.items():
        extra = [
            row
            for row in raised
            if row.device_id == tag and (row.signal, vn_day(row.started_at)) not in events
        ]
        count = len(events) + len(extra)
        failures = next(t for t in by_tag[tag].terms if t.term == "failures")
        assert failures.explanation_en.startswith(f"{count} failure(s)"), (tag, count)
    # PC-MID: disk_failing twice a day counts once, and host_down; PC-HOT's disk_full event and
    # incident are one fault.
    assert len(critical["PC-MID"]) == 2
    (full,) = [row for row in raised if (row.device_id, row.signal) == ("PC-HOT", "disk_full")]
    assert ("disk_full", vn_day(full.started_at)) in critical["PC-HOT"]
    assert plan_from_rollups.replacements > 0


def test_rollups_outlive_the_journal(engine: Engine) -> None:
    history = History(engine, end=END - timedelta(days=200))
    history.register(["PC-A"])
    history.enrol("PC-A")
    history.send("PC-A", history.now, events=[event("disk_failing")])
    history.world.clock.advance(180 * 86_400)
    for hour in range(10):
        history.send("PC-A", history.now - timedelta(hours=hour), memory=97.0)
    history.process()
    history.world.clock.advance(20 * 86_400)
    assert history.world.processor.prune() == 11  # the journal keeps a week
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(journal)).scalar_one() == 0
    config = InventoryConfig(saturation_days=30.0)
    scores = ranked(engine, config, now=history.now).scores
    explained = {t.term: t.explanation_en for t in scores[0].terms}
    assert "memory p95 97 %" in explained["saturation"]
    assert explained["failures"].startswith("1 failure(s)")
    # The journal scan of the same store sees neither any more.
    with engine.begin() as conn:
        conn.execute(delete(inventory_rollups))
    scanned = {
        t.term: t.explanation_en for t in ranked(engine, config, now=history.now).scores[0].terms
    }
    assert scanned["saturation"] == "No measurements"


def test_rollups_older_than_a_year_are_pruned(engine: Engine) -> None:
    history = History(engine, end=END - timedelta(days=RETENTION_DAYS + 1))
    history.enrol("PC-A")
    history.send("PC-A", history.now)  # one day too old at END
    history.world.clock.advance(86_400)
    history.send("PC-A", history.now)  # the oldest day kept at END
    history.world.clock.advance(RETENTION_DAYS * 86_400)
    history.send("PC-A", history.now - timedelta(hours=1))
    history.process()
    days = sorted(day for _, _, day in rollup_rows(engine))
    assert len(days) == 3
    assert history.now == END
    assert history.rollups is not None
    assert history.rollups.prune() == 1
    assert sorted(day for _, _, day in rollup_rows(engine)) == days[1:]
    assert days[1] == vn_day(END) - timedelta(days=RETENTION_DAYS)
    assert history.rollups.prune() == 0


def test_without_rollups_the_ranking_scans_the_journal_and_says_so(engine: Engine) -> None:
    history = History(engine, rollups=False)
    history.register(["PC-A"])
    history.enrol("PC-A")
    history.send("PC-A", END - timedelta(hours=2), memory=97.0)
    history.process()
    config = InventoryConfig()
    result = ranked(engine, config, now=history.now)
    assert result.measurements is not None
    assert result.measurements.source is SignalSource.JOURNAL
    for lang in ("vi", "en"):
        assert "commune-monitor inventory rollups rebuild" in result.measurements.note(lang)
    assert "memory p95 97 %" in next(
        t.explanation_en for t in result.scores[0].terms if t.term == "saturation"
    )
    plan = budget_plan(engine, config, 10_000_000, now=history.now)
    assert plan.measurements == result.measurements
    assert plan.model_dump(mode="json")["measurements"]["source"] == "journal"
