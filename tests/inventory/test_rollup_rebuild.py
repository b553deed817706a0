"""``inventory rollups rebuild`` (inventory/rollup_rebuild.py; the command is tested in
test_rollups_cli.py) on SQLite and PostgreSQL: the rollups it rebuilds from the journal and the
events are those the live consumer makes of the same reports, it keeps what the journal no
longer holds, it counts what the processor consumes meanwhile once, and it refuses impossible
spans."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, func, select

from collector.schema import journal
from inventory.errors import RollupError
from inventory.measurements import SignalSource
from inventory.reports import InventoryConfig, ranked
from inventory.rollup_rebuild import rebuild_rollups
from inventory.rollups import RETENTION_DAYS, decode_histogram
from inventory.schema import inventory_rollups
from tests.inventory.rollup_history import COMMUNE, END, History, rollup_rows, vn_day


def _three_days(history: History, tags: tuple[str, ...] = ("PC-A", "PC-B")) -> int:
    """Three days of reports of ``tags`` (a critical event on the middle day); how many."""
    for tag in tags:
        history.enrol(tag)
    sent = 0
    for day in range(3):
        for hour in range(6):
            for index, tag in enumerate(tags):
                events = []
                if day == 1 and hour == 2:
                    events = [{"type": "disk_failing", "severity": "critical"}]
                history.send(
                    tag,
                    END - timedelta(days=day, hours=hour, minutes=index + 1),
                    cpu=float(10 * hour + day),
                    memory=float(50 + 7 * hour + index),
                    disk=float(60 + hour),
                    events=events,
                )
                sent += 1
    history.process()
    return sent


def test_a_rebuild_makes_the_rollups_the_live_consumer_made(engine: Engine) -> None:
    history = History(engine)
    sent = _three_days(history)
    live = rollup_rows(engine)
    assert len(live) == 6  # two PCs, three days
    with engine.begin() as conn:
        conn.execute(delete(inventory_rollups))
    seen: Counter[str] = Counter()

    def progress(phase: str, done: int, total: int) -> None:
        assert 0 <= done <= total
        seen[phase] += 1

    result = rebuild_rollups(engine, history.now, days=7, progress=progress)
    assert rollup_rows(engine) == live
    assert (result.reports, result.failure_events, result.written, result.kept) == (sent, 2, 6, 0)
    assert set(seen) == {"journal", "events", "write"}
    assert (result.first_day, result.last_day) == (vn_day(END) - timedelta(days=6), vn_day(END))
    # Rebuilding again changes nothing.
    again = rebuild_rollups(engine, history.now, days=7)
    assert (again.written, again.kept) == (0, 6)
    assert rollup_rows(engine) == live


def test_a_rebuild_keeps_a_day_the_journal_holds_only_in_part(engine: Engine) -> None:
    history = History(engine)
    sent = _three_days(history)
    live = rollup_rows(engine)
    # The journal's pruning took some reports of PC-A's newest day (the first sent).
    with engine.begin() as conn:
        first = conn.execute(select(func.min(journal.c.id))).scalar_one()
        conn.execute(delete(journal).where(journal.c.id < first + 3))
    result = rebuild_rollups(engine, history.now, days=7)
    assert result.reports == sent - 3
    # Rebuilt from what is left, that day would have fewer reports: the stored one stays.
    assert live[(COMMUNE, "PC-A", vn_day(END))]["reports"] == 6
    assert rollup_rows(engine) == live
    assert result.written == 0


def test_a_rebuild_counts_what_the_processor_consumes_meanwhile_once(engine: Engine) -> None:
    history = History(engine)
    history.enrol("PC-A")
    before = [41.0, 42.0, 43.0]
    during = [77.0, 78.0]
    for minute, memory in enumerate(before, start=1):
        history.send("PC-A", END - timedelta(hours=3, minutes=minute), memory=memory)
    history.process()
    # As after an upgrade: the rollups started later than the journal.
    with engine.begin() as conn:
        conn.execute(delete(inventory_rollups))
    sent = False

    def live_meanwhile(phase: str, _done: int, _total: int) -> None:
        nonlocal sent
        if phase == "events" and not sent:  # after the journal was read, before the write
            sent = True
            for minute, memory in enumerate(during, start=1):
                history.send("PC-A", END - timedelta(hours=1, minutes=minute), memory=memory)
            assert history.process() == len(during)

    result = rebuild_rollups(engine, history.now, days=7, progress=live_meanwhile)
    assert sent
    (row,) = rollup_rows(engine).values()
    assert row["reports"] == len(before) + len(during) == result.reports
    assert decode_histogram(row["memory_hist"]) == Counter(int(v) for v in before + during)


def test_a_store_without_rollups_reads_them_after_a_rebuild(engine: Engine) -> None:
    history = History(engine, rollups=False)
    history.register(["PC-A", "PC-B"])
    _three_days(history)
    config = InventoryConfig(journal_days=7.0, saturation_days=7.0)
    scanned = ranked(engine, config, now=history.now)
    assert scanned.measurements is not None
    assert scanned.measurements.source is SignalSource.JOURNAL
    rebuild_rollups(engine, history.now, days=7)
    rolled = ranked(engine, config, now=history.now)
    assert rolled.measurements is not None
    assert rolled.measurements.source is SignalSource.ROLLUPS
    assert rolled.measurements.since == vn_day(END - timedelta(days=2))
    assert rolled.scores == scanned.scores


@pytest.mark.parametrize("days", [0, -1, RETENTION_DAYS + 1])
def test_a_rebuild_refuses_an_impossible_span(engine: Engine, days: float) -> None:
    with pytest.raises(RollupError) as refused:
        rebuild_rollups(engine, END, days=days)
    assert refused.value.field == "--days"
    assert str(RETENTION_DAYS) in str(refused.value)
