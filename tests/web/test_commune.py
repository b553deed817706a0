"""One commune's page data (web/commune.py) from the fed store, on both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine

from agent.vntime import VN_TZ
from alerts.calendar import load_calendar
from tests.alerts.support import HEARTBEAT, World
from tests.alerts.support import pc as pc_device
from tests.fakes import FakeClock
from tests.web.support import Province
from web.commune import _Readings, commune_detail, device_of, reporting_by_hour, timeline_of

SILENCE = timedelta(seconds=HEARTBEAT * 1.5)
CALENDAR = load_calendar()


def test_reporting_commune_shows_its_devices_probes_and_link(province: Province) -> None:
    world = province.world
    detail = commune_detail(world.engine, province.other, world.clock.now(), SILENCE)
    assert detail is not None
    devices = {d.device_id: d for d in detail.devices}
    pc = devices[f"{province.other}-PC-0"]
    assert (pc.kind, pc.disk, pc.health) == ("pc", 97.0, "warn")  # the full disk
    jammed = devices[f"{province.other}-PR"]
    assert jammed.health == "warn"
    assert jammed.errors
    assert [level for _, level in jammed.supplies] == [12.0]
    assert detail.probes
    assert all(p.reachable == p.probed for p in detail.probes)
    assert all(p.phases["total"] == 0.4 for p in detail.probes)
    assert set(detail.link) == {"rtt", "loss"}
    active = [item for item in detail.timeline if item["kind"] == "incident" and item["active"]]
    assert {item["what"] for item in active} >= {"device_health", "printer_fault"}
    assert detail.timeline == sorted(detail.timeline, key=lambda i: i["at"], reverse=True)


def test_cut_commune_devices_are_stale_and_unknown_communes_are_none(province: Province) -> None:
    world = province.world
    detail = commune_detail(world.engine, province.cut, world.clock.now(), SILENCE)
    assert detail is not None
    assert {d.health for d in detail.devices} == {"stale"}
    assert commune_detail(world.engine, "99999", world.clock.now(), SILENCE) is None


def test_reporting_by_hour_shares_reports_over_what_was_expected(province: Province) -> None:
    world = province.world
    now = world.clock.now()
    heartbeat = timedelta(seconds=HEARTBEAT)
    other = reporting_by_hour(world.engine, province.other, now, heartbeat, CALENDAR)
    cut = reporting_by_hour(world.engine, province.cut, now, heartbeat, CALENDAR)
    assert len(other) == len(cut) == 24
    assert [hour for hour, _ in other] == sorted(hour for hour, _ in other)
    assert other[-1][1] is not None
    assert other[-1][1] >= 0.9  # reporting: every expected report arrived
    assert cut[-1][1] is not None
    assert cut[-1][1] < 0.5  # silent since the cut
    assert all(value is None for _, value in other[:-1])  # before the agents enrolled


def test_back_filled_hours_count_and_counter_pcs_are_expected_only_when_open(
    engine: Engine,
) -> None:
    # A PC back-filled from 06:00 to 10:00 (its first report 4 hours before its enrolment):
    # the hours it reported count; before 07:00 a counter PC is not expected, so no figure.
    six = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)  # 06:00 in Hà Nội
    world = World(engine, clock=FakeClock(six + timedelta(hours=4)))
    commune = world.communes[0]
    agent = world.enrol(commune, [pc_device(f"{commune}-PC-0")])  # enrolled at 10:00
    for minute in range(4 * 60):
        world.measure(agent, six + timedelta(minutes=minute))
    world.deliver(agent)
    world.processor.drain()
    series = reporting_by_hour(
        world.engine, commune, world.clock.now(), timedelta(seconds=HEARTBEAT), CALENDAR
    )
    by_local = {hour.astimezone(VN_TZ).hour: value for hour, value in series}
    assert by_local[6] is None  # before opening: a PC is expected nowhere
    assert by_local[7] == pytest.approx(1.0)
    assert by_local[9] == pytest.approx(1.0)


def test_device_health_from_its_samples() -> None:
    now = FakeClock().now()

    def state(samples: list[list[object]], age: float = 0.0) -> SimpleNamespace:
        return SimpleNamespace(
            device_id="d",
            kind="pc",
            agent_id="a",
            measured_at=now - timedelta(seconds=age),
            samples=json.dumps(samples),
        )

    readings = _Readings()
    busy = device_of(state([["cpu_percent", {}, 95.0, 0]]), now, SILENCE, readings)
    assert (busy.cpu, busy.health) == (95.0, "warn")
    calm = [
        ["disk_used_percent", {"mount": "C:"}, 40.0, 0],
        ["disk_used_percent", {"mount": "D:"}, 70.0, 0],
        ["probe_success", {"target": "dvc"}, 1.0, 0],
        ["probe_success", {"target": "dvc"}, 0.0, 0],
        ["ping_rtt_seconds", {}, 0.02, 0],
        ["ping_rtt_seconds", {}, 0.04, 0],
    ]
    fine = device_of(state(calm), now, SILENCE, readings)
    assert (fine.disk, fine.health) == (70.0, "ok")  # the fullest disk counts
    assert device_of(state(calm, age=600), now, SILENCE, readings).health == "stale"
    probe = readings.probes()[0]
    assert (probe.target, probe.reachable, probe.probed) == ("dvc", 2, 4)
    assert readings.link_medians() == {"rtt": 0.03}


def test_timeline_merges_incidents_and_events_newest_first() -> None:
    now = FakeClock().now()
    incidents = [
        SimpleNamespace(
            started_at=now - timedelta(minutes=m),
            ended_at=None,
            problem_class="device_down",
            device_id=None,
            active=True,
        )
        for m in (5, 50)
    ]
    events = [
        SimpleNamespace(
            measured_at=now - timedelta(minutes=m), type="boot", device_id="pc", message="x"
        )
        for m in range(1, 60)
    ]
    merged = timeline_of(incidents, events)
    assert len(merged) == 40
    assert [item["at"] for item in merged] == sorted((i["at"] for i in merged), reverse=True)
    assert sum(1 for item in merged if item["kind"] == "incident") == 1  # the older fell off
    assert merged[4]["subject"] == ""
