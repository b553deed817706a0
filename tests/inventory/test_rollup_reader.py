"""The measured signals read from the daily rollups (inventory/rollup_reader.py), on SQLite and
PostgreSQL: the saturation window's days, p95 over every sample of the window, the newest disk
and SMART figures, distinct failure types per day over 12 months, and only recognised devices."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from inventory.reconcile import Match, SeenDevice
from inventory.reports import gather
from inventory.rollup_reader import has_rollups, rollup_signals, saturation_days_range
from inventory.rollups import encode_histogram
from inventory.schema import inventory_rollups
from tests.inventory.rollup_history import END, History, p95, pc_asset, vn_day, whole_percent

TODAY = vn_day(END)  # 11 March 2026
ELSEWHERE = "13999"


@pytest.mark.parametrize(
    ("now", "days", "first", "last"),
    [
        (END, 7, date(2026, 3, 5), date(2026, 3, 11)),
        (END, 0.5, date(2026, 3, 11), date(2026, 3, 11)),
        (END, 1.2, date(2026, 3, 10), date(2026, 3, 11)),
        # 23:30 UTC on 10 March is 06:30 on 11 March in Vietnam: that is the last day.
        (datetime(2026, 3, 10, 23, 30, tzinfo=UTC), 2, date(2026, 3, 10), date(2026, 3, 11)),
    ],
)
def test_the_window_is_whole_vietnam_days_ending_today(
    now: datetime, days: float, first: date, last: date
) -> None:
    assert saturation_days_range(now, days) == (first, last)


def _match(tag: str, commune: str, device_id: str) -> Match:
    asset = pc_asset(tag).model_copy(update={"commune_code": commune})
    return Match(asset, SeenDevice(commune, device_id, "pc", END), "hostname")


def _row(device_id: str, day: date, commune: str, **values: Any) -> dict[str, Any]:
    types: list[str] = values.pop("failure_types", [])
    row: dict[str, Any] = {
        "device_id": device_id,
        "day": day,
        "commune_code": commune,
        "reports": 1,
        "cpu_hist": None,
        "memory_hist": None,
        "disk_used_percent": None,
        "disk_epoch": None,
        "smart_warnings": None,
        "smart_epoch": None,
        "failures": len(types),
        "failure_types": json.dumps(types),
    }
    row.update(values)
    return row


def _store(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(inventory_rollups.insert(), rows)


MATCHES = [
    _match("A", "13285", "PC-A"),
    _match("B", "13285", "PC-B"),
    _match("C", ELSEWHERE, "PC-C"),
]


def test_a_store_without_rollups_reads_none(engine: Engine) -> None:
    with engine.connect() as conn:
        assert not has_rollups(conn)
    assert rollup_signals(engine, MATCHES, END, saturation_days=7) is None


def test_signals_are_summed_over_the_window_per_recognised_device(engine: Engine) -> None:
    _store(
        engine,
        [
            _row(
                "PC-A",
                TODAY - timedelta(days=2),
                "13285",
                cpu_hist=encode_histogram({10: 1}),
                memory_hist=encode_histogram({50: 19, 90: 1}),
                disk_used_percent=80.0,
                disk_epoch=100.0,
                smart_warnings=2,
                smart_epoch=300.0,
                failure_types=["disk_failing", "host_down"],
            ),
            _row(
                "PC-A",
                TODAY,
                "13285",
                memory_hist=encode_histogram({60: 20}),
                disk_used_percent=70.0,
                disk_epoch=200.0,
                failure_types=["disk_failing"],
            ),
            # More than a year ago: its failure no longer counts.
            _row("PC-A", TODAY - timedelta(days=400), "13285", failure_types=["host_down"]),
            # Ten days ago: outside a week's saturation window, inside the failures' year.
            _row(
                "PC-B",
                TODAY - timedelta(days=10),
                "13285",
                memory_hist=encode_histogram({99: 5}),
                failure_types=["disk_failing", "smart_failing"],
            ),
            _row("PC-C", TODAY, ELSEWHERE, memory_hist=encode_histogram({30: 3})),
            # A device the register does not hold is not read into any asset.
            _row("PC-X", TODAY, "13285", memory_hist=encode_histogram({100: 50})),
        ],
    )
    read = rollup_signals(engine, MATCHES, END, saturation_days=7)
    assert read is not None
    assert read.since == TODAY - timedelta(days=2)
    a, b, c = read.signals["A"], read.signals["B"], read.signals["C"]
    # 40 samples: the 38th smallest, across both days (neither day alone gives 60 with 90 in).
    assert a.p95_memory_percent == 60.0
    assert a.p95_cpu_percent == 10.0
    assert a.disk_used_percent == 70.0  # the newest report's
    assert a.smart_warnings == 2  # the newest report carrying them
    assert a.failures_12m == 3  # two types one day, one the other
    assert b.failures_12m == 2
    assert b.p95_memory_percent is None
    assert c.p95_memory_percent == 30.0
    assert c.failures_12m == 0
    assert set(read.signals) == {"A", "B", "C"}
    # A month's window reaches PC-B's day; one commune's read leaves the others out.
    month = rollup_signals(engine, MATCHES, END, saturation_days=30)
    assert month is not None
    assert month.signals["B"].p95_memory_percent == 99.0
    assert month.since == TODAY - timedelta(days=10)
    local = rollup_signals(engine, MATCHES, END, saturation_days=7, commune_code="13285")
    assert local is not None
    assert set(local.signals) == {"A", "B"}


def test_a_disk_figure_beyond_the_scale_is_held_to_it(engine: Engine) -> None:
    _store(engine, [_row("PC-A", TODAY, "13285", disk_used_percent=100.4, disk_epoch=1.0)])
    read = rollup_signals(engine, MATCHES, END, saturation_days=1)
    assert read is not None
    assert read.signals["A"].disk_used_percent == 100.0
    assert read.signals["A"].p95_memory_percent is None


def test_p95_over_days_is_the_p95_of_every_sample_to_the_percent(engine: Engine) -> None:
    history = History(engine)
    history.register(["PC-A"])
    history.enrol("PC-A")
    rng = random.Random(3)
    recent = [round(rng.uniform(40, 99), 1) for _ in range(300)]  # more than a scan samples
    for i, memory in enumerate(recent):
        history.send("PC-A", END - timedelta(minutes=25 * i + 1), memory=memory)
    old = [99.0] * 40  # three weeks ago: outside a week's window, inside a month's
    for i, memory in enumerate(old):
        history.send("PC-A", END - timedelta(days=21, minutes=i), memory=memory)
    history.process()
    assert len({vn_day(END - timedelta(minutes=25 * i)) for i in range(300)}) >= 5
    week = gather(engine, history.now, saturation_days=7).signals["PC-A"]
    month = gather(engine, history.now, saturation_days=30).signals["PC-A"]
    assert week.p95_memory_percent == whole_percent(p95(recent))
    assert month.p95_memory_percent == whole_percent(p95(recent + old))
    assert month.p95_memory_percent != week.p95_memory_percent
