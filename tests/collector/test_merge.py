"""One processing step's merge (collector/merge.py): per device the newest value of each sample
name and fact, the events' rows, and each agent's newest goodbye and boot time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from collector.merge import AgentMarks, DeviceMerge, mark_agent, merge_entries
from collector.schema import agents as agents_table
from collector.schema import device_state
from tests.collector.builders import batch, pc_device
from tests.collector.support import Harness, enrolled, start
from tests.fakes import FakeClock

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

# -- through the collector ----------------------------------------------------------------------


async def test_replayed_old_report_does_not_overwrite_newer_state(harness: Harness) -> None:
    begin = start(harness)
    await harness.post(batch(harness.agent_id, [2], begin, devices=[pc_device("pc-a", cpu=90.0)]))
    await harness.post(batch(harness.agent_id, [1], begin, devices=[pc_device("pc-a", cpu=10.0)]))
    harness.service.processor.drain()
    with harness.service.engine.connect() as conn:
        samples = json.loads(conn.execute(select(device_state.c.samples)).scalar_one())
    assert [s[:3] for s in samples if s[0] == "cpu_percent"] == [["cpu_percent", {}, 90.0]]


async def test_reports_of_two_checks_on_one_device_are_merged(harness: Harness) -> None:
    # host (every 15 s) and local_service (every 60 s) both report the counter PC.
    begin = start(harness)
    host = {
        "device_id": "pc-a",
        "kind": "pc",
        "facts": {"hostname": "quay-1"},
        "samples": [{"name": "cpu_percent", "value": 40.0}],
    }
    signing = {
        "device_id": "pc-a",
        "kind": "pc",
        "samples": [{"name": "local_service_up", "value": 1.0, "labels": {"service": "vgca"}}],
    }
    newer_host = {**host, "samples": [{"name": "cpu_percent", "value": 55.0}], "facts": {}}
    await harness.post(batch(harness.agent_id, [1], begin, devices=[host]))
    await harness.post(batch(harness.agent_id, [2], begin, devices=[signing]))
    harness.service.processor.drain()
    await harness.post(batch(harness.agent_id, [3], begin, devices=[newer_host]))
    harness.service.processor.drain()
    with harness.service.engine.connect() as conn:
        row = conn.execute(select(device_state)).one()
    values = {(s[0], json.dumps(s[1])): s[2] for s in json.loads(row.samples)}
    assert values == {("cpu_percent", "{}"): 55.0, ("local_service_up", '{"service": "vgca"}'): 1.0}
    assert json.loads(row.facts) == {"hostname": "quay-1"}


# -- the merge in memory ------------------------------------------------------------------------


@dataclass
class Entry:
    """A journal entry as the merge reads it."""

    journal_id: int
    agent_id: str
    commune_code: str
    measured_at: datetime
    data: dict[str, Any]


def _device(device_id: str, samples: list[tuple[str, float, dict[str, str]]], **extra: Any) -> Any:
    return {
        "device_id": device_id,
        "kind": extra.pop("kind", "pc"),
        "samples": [{"name": n, "value": v, "labels": labels} for n, v, labels in samples],
        **extra,
    }


def _entry(journal_id: int, seconds: float, *devices: Any, agent: str = "ag_a") -> Entry:
    return Entry(journal_id, agent, "14134", T0 + timedelta(seconds=seconds), {"devices": devices})


def test_a_name_is_replaced_as_a_whole_by_its_newest_report() -> None:
    # Volume D: disappeared in the newer report: the newer family replaces the older one whole.
    old = _device("pc", [("disk", 10.0, {"v": "C"}), ("disk", 20.0, {"v": "D"}), ("cpu", 1.0, {})])
    new = _device("pc", [("disk", 30.0, {"v": "C"})])
    merged, _, _ = merge_entries([_entry(1, 0, old), _entry(2, 15, new)])
    row = merged[("14134", "pc")].row("14134", "pc", None)
    samples = json.loads(str(row["samples"]))
    assert [s[:3] for s in samples] == [["disk", {"v": "C"}, 30.0], ["cpu", {}, 1.0]]
    # Each family keeps when it was measured.
    assert [s[3] for s in samples] == [(T0 + timedelta(seconds=15)).timestamp(), T0.timestamp()]
    assert row["first_seen_at"] == T0
    assert row["measured_at"] == T0 + timedelta(seconds=15)


def test_an_older_report_merged_later_changes_nothing_it_is_behind_on() -> None:
    newer = _device("pc", [("cpu", 90.0, {})], facts={"hostname": "new"})
    older = _device("pc", [("cpu", 10.0, {}), ("mem", 5.0, {})], facts={"hostname": "old"})
    merged, _, _ = merge_entries([_entry(1, 60, newer), _entry(2, 0, older, agent="ag_b")])
    state = merged[("14134", "pc")]
    row = state.row("14134", "pc", None)
    values = {s[0]: s[2] for s in json.loads(str(row["samples"]))}
    assert values == {"cpu": 90.0, "mem": 5.0}
    assert json.loads(str(row["facts"])) == {"hostname": "new"}
    # The agent and time of the device are the newest report's, the first seen the first merged.
    assert (row["agent_id"], row["measured_at"]) == ("ag_a", T0 + timedelta(seconds=60))
    assert row["first_seen_at"] == T0 + timedelta(seconds=60)


@dataclass
class Stored:
    """A device_state row as the processor reads it."""

    first_seen_at: datetime
    measured_at: datetime
    samples: str
    facts: str


def test_a_batch_merges_onto_the_stored_row_keeping_newer_stored_values() -> None:
    before = Stored(
        first_seen_at=T0 - timedelta(days=3),
        measured_at=T0 + timedelta(seconds=100),
        samples=json.dumps(
            [
                ["cpu", {}, 50.0, (T0 + timedelta(seconds=100)).timestamp()],
                ["mem", {}, 70.0, T0.timestamp()],
                ["legacy", {}, 1.0],  # stored before the time column existed
            ]
        ),
        facts=json.dumps({"serial": "S1"}),
    )
    merge = DeviceMerge("ag_a", "pc")
    merge.add(
        (T0 + timedelta(seconds=30)).timestamp(),
        _device("pc", [("cpu", 5.0, {}), ("mem", 9.0, {})]),
        "ag_a",
    )
    row = merge.row("14134", "pc", before)
    values = {s[0]: s[2] for s in json.loads(str(row["samples"]))}
    # cpu stored at +100 s is newer than this batch's +30 s; mem and the undated one are replaced
    # only where this batch has them.
    assert values == {"cpu": 50.0, "mem": 9.0, "legacy": 1.0}
    assert row["first_seen_at"] == T0 - timedelta(days=3)
    assert row["measured_at"] == T0 + timedelta(seconds=100)
    assert json.loads(str(row["facts"])) == {"serial": "S1"}


def test_events_become_rows_with_their_origin() -> None:
    device = _device(
        "printer-1",
        [],
        kind="printer",
        events=[{"type": "paper_jam", "severity": "warning", "message": "Tray 2"}, {"type": "x"}],
    )
    _, rows, marks = merge_entries([_entry(7, 5, device)])
    assert [(r["device_id"], r["type"], r["severity"], r["message"]) for r in rows] == [
        ("printer-1", "paper_jam", "warning", "Tray 2"),
        ("printer-1", "x", "info", ""),
    ]
    assert {r["journal_id"] for r in rows} == {7}
    assert rows[0]["measured_at"] == T0 + timedelta(seconds=5)
    assert rows[0]["attrs"] == "{}"
    assert marks == {}


def test_the_newest_goodbye_and_boot_time_are_kept_per_agent() -> None:
    def lifecycle(kind: str, **attrs: str) -> Any:
        return _device("pc", [], events=[{"type": kind, "attrs": attrs}])

    entries = [
        _entry(1, 0, lifecycle("agent_started", boot_time="2026-03-02T00:30:00+00:00")),
        _entry(2, 60, lifecycle("agent_stopping", reason="shutdown")),
        _entry(3, 30, lifecycle("agent_stopping", reason="older goodbye")),
        # The boot time is unreadable ("" as agent/lifecycle.py sends it): the uptime tells it.
        _entry(4, 120, lifecycle("agent_started", boot_time="", uptime_seconds="600")),
        _entry(5, 180, lifecycle("agent_started", boot_time="not a time", uptime_seconds="x")),
    ]
    _, rows, marks = merge_entries(entries)
    assert len(rows) == 5  # the lifecycle events are events too
    mark = marks["ag_a"]
    assert (mark.goodbye_at, mark.goodbye_reason) == (T0 + timedelta(seconds=60), "shutdown")
    # boot_time 00:30; uptime 600 s at 01:02 is a boot at 00:52, the newer one. Neither a
    # readable boot time nor an uptime says nothing.
    assert mark.booted_at == T0 + timedelta(seconds=120) - timedelta(seconds=600)


@pytest.mark.xfail(
    strict=True,
    raises=KeyError,
    reason="collector/merge.py _booted_at reads attrs['boot_time'] outside its suppress of "
    "KeyError: an agent_started without boot time (what agent/self_report.py sends when the OS "
    "boot time is unknown) fails every processing step",
)
def test_a_start_without_a_boot_time_gives_no_boot_time() -> None:
    started = _device("pc", [], events=[{"type": "agent_started", "attrs": {"version": "1"}}])
    _, rows, marks = merge_entries([_entry(1, 0, started)])
    assert len(rows) == 1
    assert marks["ag_a"].booted_at is None


def test_a_goodbye_reason_is_cut_to_its_column() -> None:
    marks = AgentMarks()
    marks.add({"type": "agent_stopping", "attrs": {"reason": "r" * 100}}, T0)
    assert marks.goodbye_reason == "r" * 30
    marks.add({"type": "agent_started", "attrs": {"boot_time": "2026-03-02T00:00:00"}}, T0)
    assert marks.booted_at is None  # a boot time without a zone is not trusted


def test_mark_agent_keeps_the_newest_on_the_store(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    newer = AgentMarks(goodbye_at=T0, goodbye_reason="shutdown", booted_at=T0 - timedelta(hours=8))
    older = AgentMarks(
        goodbye_at=T0 - timedelta(hours=1),
        goodbye_reason="replay",
        booted_at=T0 - timedelta(days=1),
    )
    with engine.begin() as conn:
        mark_agent(conn, identity.agent_id, newer)
        mark_agent(conn, identity.agent_id, older)
        mark_agent(conn, "ag_gone", newer)  # an agent no longer in the store: nothing happens
    with engine.connect() as conn:
        row = conn.execute(
            select(
                agents_table.c.goodbye_at, agents_table.c.goodbye_reason, agents_table.c.booted_at
            ).where(agents_table.c.id == identity.agent_id)
        ).one()
    assert (row.goodbye_at, row.goodbye_reason, row.booted_at) == (
        T0,
        "shutdown",
        T0 - timedelta(hours=8),
    )
