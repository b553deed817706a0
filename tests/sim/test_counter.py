"""The counter PCs (sim/counter.py): their own device and their probes of the central systems,
silence while switched off, the ``agent_started`` event when back (unclean after a fault pulled
the plug), a full disk and a failing disk, and probes cut with the line or failing with a
central system."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.wire import DeviceReport
from collector.communes import BUNDLED_UNITS
from sim import Behaviour, FaultType, FaultView, generate_fleet
from sim.counter import _cert_days
from sim.fleet import Fleet, SimAgent

T0 = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday 09:00 in Hà Nội: every clerk's PC is on
STEP = 60.0


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=2)


def _pc(fleet: Fleet) -> SimAgent:
    return next(agent for agent in fleet.agents if agent.role == "pc")


def _report(
    behaviour: Behaviour, agent: SimAgent, at: datetime, faults: FaultView | None = None
) -> list[dict[str, Any]] | None:
    devices = behaviour.agent_report(agent, at, STEP, faults or FaultView())
    for device in devices or []:
        DeviceReport.model_validate(device)  # what the collector accepts from an agent
    return devices


def _values(device: dict[str, Any]) -> dict[str, float]:
    return {s["name"]: s["value"] for s in device["samples"] if "phase" not in s["labels"]}


def _events(devices: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for device in devices for event in device.get("events", [])]


def test_a_running_pc_reports_itself_then_its_two_probes(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    agent = _pc(fleet)
    devices = _report(behaviour, agent, T0)
    assert devices is not None
    pc, *probes = devices
    assert pc["device_id"] == agent.devices[0].device_id
    assert pc["kind"] == "pc"
    assert [p["device_id"] for p in probes] == [
        f"probe:motcua@{pc['device_id']}",
        f"probe:dvcqg@{pc['device_id']}",
    ]
    values = _values(pc)
    assert values["agent_up"] == 1.0
    assert 0.0 <= values["cpu_percent"] <= 100.0
    assert values["smart_healthy"] == 1.0
    assert values["disk_used_percent"] < 99.0
    # Running since before the run began: no start event at its first report.
    assert "agent_started" not in _events(devices)
    assert pc["facts"]  # the first report carries the host's facts
    later = _report(behaviour, agent, T0 + timedelta(minutes=1))
    assert later is not None
    assert "hostname" in pc["facts"]
    assert "hostname" not in later[0]["facts"]  # the host facts again only on the hour
    assert all(_values(p)["probe_success"] == 1.0 for p in probes)


def test_a_pc_kept_off_is_silent_and_comes_back_unclean(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    agent = _pc(fleet)
    device_id = agent.devices[0].device_id
    assert _report(behaviour, agent, T0) is not None
    off = FaultView(devices={device_id: frozenset({FaultType.DEVICE_OFF})})
    assert _report(behaviour, agent, T0 + timedelta(minutes=1), off) is None
    back = _report(behaviour, agent, T0 + timedelta(minutes=10))
    assert back is not None
    (started,) = [e for e in back[0]["events"] if e["type"] == "agent_started"]
    assert started["attrs"]["previous_stop"] == "unclean"
    uptime = _values(back[0])["uptime_seconds"]
    assert 0 <= uptime <= STEP


def test_a_full_disk_and_a_failing_disk_show_on_the_pc(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    agent = _pc(fleet)
    device_id = agent.devices[0].device_id
    faults = FaultView(
        devices={device_id: frozenset({FaultType.DISK_FULL, FaultType.SMART_FAILURE})}
    )
    devices = _report(behaviour, agent, T0, faults)
    assert devices is not None
    values = _values(devices[0])
    assert values["disk_used_percent"] == 99.5
    assert values["smart_healthy"] == 0.0
    assert values["disk_free_bytes"] == round(values["disk_total_bytes"] * 0.005)
    again = _report(behaviour, agent, T0 + timedelta(minutes=1), faults)
    assert again is not None
    assert _values(again[0])["smart_reallocated_sectors"] >= values["smart_reallocated_sectors"]


def test_probes_time_out_with_the_line_and_fail_with_a_central_system(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    agent = _pc(fleet)
    cut = _report(behaviour, agent, T0, FaultView(link_down=frozenset({agent.commune_code})))
    assert cut is not None
    assert {e["attrs"]["error_class"] for p in cut[1:] for e in p["events"]} == {"timeout"}
    outage = FaultView(software={(None, "motcua"): "outage", (None, "dvcqg"): "maintenance"})
    failing = _report(behaviour, agent, T0 + timedelta(minutes=1), outage)
    assert failing is not None
    motcua, dvcqg = failing[1:]
    assert _values(motcua)["probe_http_status"] == 503.0
    assert [e["attrs"]["error_class"] for e in motcua["events"]] == ["http_5xx"]
    assert _values(dvcqg)["probe_maintenance"] == 1.0


def test_a_central_systems_certificate_is_renewed_a_month_before_expiry() -> None:
    rng = random.Random(0)
    for _ in range(200):
        at = T0 + timedelta(days=rng.uniform(0, 800))
        for target in ("motcua", "dvcqg"):
            assert 30.0 < _cert_days(at, target) <= 365.0
    assert _cert_days(T0, "motcua") != _cert_days(T0, "dvcqg")
