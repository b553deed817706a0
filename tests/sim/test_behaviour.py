"""The simulator sends what the real agent sends: every sample catalogued with exactly its labels,
every probe state shaped as the recording of the agent's own http_probe check, the signing chain
as the agent's signing and tokens checks (tests/sim/test_signing.py runs the real tokens check
beside it)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.catalogue import CATALOGUE_PATH, SNMP_CATALOGUE_PATH, load_catalogue
from agent.wire import DeviceKind, DeviceReport
from collector.communes import BUNDLED_UNITS
from sim import Behaviour, FaultView, ResolvedScenario, generate_fleet, parse_scenario
from sim.fleet import Fleet
from tests.alerts import agent_samples
from tests.alerts import support as alert_helpers

# Thursday 5 March 2026, 00:00 in Hà Nội: a working day, then its night.
DAY = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
STEP = 300.0
# Every fault type, at working hours (and the uplink at night), in a four-commune province.
SCENARIO = """
name: every fault
faults:
  - {id: cut, type: link_down, start: 9h, duration: 40m, target: {commune: 1}}
  - {id: flaps, type: link_flapping, start: 10h, duration: 40m, period: 10m, target: {commune: 2}}
  - {id: down, type: software_outage, start: 11h, duration: 30m, target: {commune: 0}}
  - {id: slow, type: software_slow, start: 14h, duration: 30m, target: {scope: province}}
  - id: page
    type: maintenance_page
    start: 15h
    duration: 30m
    target: {scope: province, system: motcua}
  - id: declared
    type: declared_maintenance
    start: 15h40m
    duration: 20m
    target: {scope: province, system: dvcqg}
  - {id: uplink, type: collector_uplink_down, start: 20h, duration: 30m}
  - id: late
    type: pc_not_started
    start: 6h
    duration: 3h
    target: {scope: device, commune: 3, kind: pc, index: 0}
  - {id: printer-off, type: device_off, start: 8h, duration: 1h, target: {scope: device, commune: 0,
     kind: printer, index: 1}}
  - {id: camera-off, type: device_off, start: 8h, duration: 1h, target: {scope: device, commune: 2,
     kind: camera, index: 0}}
  - {id: pc-off, type: device_off, start: 13h45m, duration: 1h, target: {scope: device,
     commune: 1, kind: pc, index: 1}}
  - {id: jam, type: printer_jam, start: 9h, duration: 20m, target: {scope: device, commune: 0,
     kind: printer, index: 0}}
  - {id: door, type: printer_door_open, start: 10h, duration: 20m, target: {scope: device,
     commune: 1, kind: printer, index: 0}}
  - {id: toner, type: toner_empty, start: 13h, duration: 1h, target: {scope: device,
     commune: 2, kind: printer, index: 0}}
  - {id: disk, type: disk_full, start: 9h, duration: 1h, target: {scope: device, commune: 0,
     kind: pc, index: 2}}
  - {id: smart, type: smart_failure, start: 14h, duration: 1h, target: {scope: device,
     commune: 1, kind: pc, index: 0}}
  - {id: cert, type: cert_expiring, start: 9h, duration: 2h, target: {scope: device, commune: 2,
     kind: pc, index: 0}}
  - {id: plugin, type: plugin_broken, start: 10h, duration: 1h, target: {scope: device,
     commune: 3, kind: pc, index: 0}}
  - {id: token, type: token_missing, start: 14h, duration: 2h, target: {scope: device,
     commune: 3, kind: pc, index: 1}}
"""
# Device kinds the site agent polls over SNMP; the rest of its devices it pings.
SNMP_KINDS = {"router", "switch", "firewall", "access_point", "printer", "mfp"}


@pytest.fixture(scope="module")
def day() -> tuple[Fleet, ResolvedScenario, list[tuple[datetime, dict[str, Any]]]]:
    """A day of 5-minute steps of every agent of a four-commune fleet, with every fault."""
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=4)
    resolved = parse_scenario(SCENARIO, "every.yaml").resolve(fleet, DAY)
    behaviour = Behaviour(fleet, fleet.seed, DAY)
    devices: list[tuple[datetime, dict[str, Any]]] = []
    at = DAY
    while at < DAY + timedelta(days=1):
        view = FaultView.at(resolved.faults, at)
        for agent in fleet.agents:
            report = behaviour.agent_report(agent, at, STEP, view)
            devices.extend((at, device) for device in report or ())
        at += timedelta(seconds=STEP)
    return fleet, resolved, devices


def test_every_fault_type_is_in_the_day(
    day: tuple[Fleet, ResolvedScenario, list[tuple[datetime, dict[str, Any]]]],
) -> None:
    _fleet, resolved, _devices = day
    assert {fault.type.value for fault in resolved.faults} == {
        "link_down", "link_flapping", "software_outage", "software_slow", "maintenance_page",
        "declared_maintenance", "collector_uplink_down", "pc_not_started", "device_off",
        "printer_jam", "printer_door_open", "toner_empty", "disk_full", "smart_failure",
        "cert_expiring", "plugin_broken", "token_missing",
    }  # fmt: skip


def test_every_sample_and_event_is_catalogued_with_exactly_its_labels(
    day: tuple[Fleet, ResolvedScenario, list[tuple[datetime, dict[str, Any]]]],
) -> None:
    # Each device against the catalogue of the check that reports it: the SNMP poller's for
    # polled devices, the PC checks' (host, http_probe, ping, the agent's own) for the rest.
    catalogues = {
        "agent": load_catalogue(CATALOGUE_PATH),
        "snmp": load_catalogue(SNMP_CATALOGUE_PATH),
    }
    problems: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    events: set[str] = set()
    for _at, device in day[2]:
        report = DeviceReport.model_validate(device)  # valid on the wire
        check = "snmp" if report.kind.value in SNMP_KINDS else "agent"
        problems.update(f"{check}: {p}" for p in catalogues[check].problems([report]))
        seen.update((check, sample.name) for sample in report.samples)
        events.update(event.type for event in report.events)
    assert not problems, problems.most_common(10)
    # The day used each check's vocabulary, not a sliver of it.
    assert {
        ("agent", "probe_duration_seconds"), ("agent", "ping_rtt_seconds"),
        ("agent", "disk_used_percent"), ("snmp", "printer_supply_state"), ("snmp", "if_oper_up"),
        ("agent", "signing_plugin_latency_seconds"), ("agent", "token_present"),
        ("agent", "signing_cert_expiry_days"), ("agent", "signing_cert_count"),
    } <= seen  # fmt: skip
    assert {"signing_plugin_down", "signing_plugin_error"} <= events
    # The signing chain's names are the signing and tokens checks' own, not another check's.
    agent = catalogues["agent"]
    for _check, name in seen:
        if name.startswith(("signing_", "token_")):
            assert {m.check for m in agent.metrics if m.name == name} <= {"signing", "tokens"}
    for event in events:
        if event.startswith(("signing_", "token_")):
            assert agent.event_index[event].check in {"signing", "tokens"}


def _state(device: dict[str, Any]) -> str:
    values = {s["name"]: s["value"] for s in device["samples"]}
    if "probe_http_status" not in values:
        return "cut"
    if values["probe_http_status"] == 503.0:
        return "maintenance" if values["probe_maintenance"] == 1.0 else "fail"
    total = next(
        s["value"]
        for s in device["samples"]
        if s["name"] == "probe_duration_seconds" and s["labels"]["phase"] == "total"
    )
    return "slow" if total > 2.0 else "ok"


def _events(device: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
    return {(event["type"], tuple(sorted(event["attrs"]))) for event in device["events"]}


def test_each_probe_state_has_the_shape_the_agent_recorded(
    day: tuple[Fleet, ResolvedScenario, list[tuple[datetime, dict[str, Any]]]],
) -> None:
    recorded = agent_samples.load()
    # The recording probed plain http, except the slow TLS path: what https adds to an answered
    # probe is what that one has beyond its plain twin (the tls phase and the certificate).
    tls = agent_samples.signature(recorded["slow_path"]) - agent_samples.signature(recorded["slow"])
    assert {name for name, _labels in tls} == {
        "probe_duration_seconds",
        "probe_tls_cert_expiry_days",
    }
    shapes: dict[str, set[Any]] = defaultdict(set)
    events: dict[str, set[Any]] = defaultdict(set)
    for _at, device in day[2]:
        if device["kind"] != "service":
            continue
        assert device["device_id"].startswith("probe:")
        state = _state(device)
        shapes[state].add(frozenset(agent_samples.signature(device)))
        events[state].add(frozenset(_events(device)))
    assert set(shapes) == {"ok", "slow", "fail", "maintenance", "cut"}
    for state, found in shapes.items():
        want = agent_samples.signature(recorded[state])
        if state != "cut":  # nothing answered: no TLS handshake either
            want |= tls
        assert found == {frozenset(want)}, state
        recorded_events = {
            (e["type"], tuple(sorted(e["attrs"]))) for e in recorded[state]["events"]
        }
        assert events[state] == {frozenset(recorded_events)}, state


def test_the_line_is_pinged_by_the_site_agent_and_routers_keep_snmp(
    day: tuple[Fleet, ResolvedScenario, list[tuple[datetime, dict[str, Any]]]],
) -> None:
    fleet, _resolved, devices = day
    lines = [d for _at, d in devices if d["kind"] == "link"]
    assert {d["device_id"] for d in lines} == {
        f"ping:wan@{agent.hostname}" for agent in fleet.agents if agent.role == "site"
    }
    for line in lines:
        labels = {tuple(sorted(s["labels"].items())) for s in line["samples"]}
        assert all(dict(pairs)["target"] == "wan" for pairs in labels)
        names = {s["name"] for s in line["samples"]}
        up = next(s["value"] for s in line["samples"] if s["name"] == "ping_up")
        stats = {
            s["labels"].get("stat") for s in line["samples"] if s["name"] == "ping_rtt_seconds"
        }
        assert stats == ({"min", "avg", "max"} if up else set())
        assert names >= {"ping_up", "ping_loss_ratio"}
    routers = [d for _at, d in devices if d["kind"] == DeviceKind.ROUTER.value]
    assert routers
    assert all(not s["name"].startswith("ping_") for r in routers for s in r["samples"])
    assert all(any(s["name"] == "snmp_up" for s in r["samples"]) for r in routers)
    # The cut commune's line answered no echo and its routers' WAN ports went down and came back.
    cut = fleet.communes[1].code
    down = [d for _at, d in devices if d["kind"] == "link" and cut in d["device_id"]]
    assert any(s["name"] == "ping_up" and s["value"] == 0.0 for d in down for s in d["samples"])
    wan_events = {
        e["type"] for _at, d in devices if d["device_id"].startswith(cut) for e in d["events"]
    }
    assert {"interface_down", "interface_up"} <= wan_events


def test_printer_supplies_carry_their_state_and_reason(
    day: tuple[Fleet, ResolvedScenario, list[tuple[datetime, dict[str, Any]]]],
) -> None:
    states: Counter[tuple[str, str]] = Counter()
    for _at, device in day[2]:
        for sample in device["samples"]:
            if sample["name"] == "printer_supply_state":
                states[(sample["labels"]["state"], sample["labels"]["reason"])] += 1
                assert sample["value"] == 1.0
    # The ordinary toners are ok and measured; the injected empty one says so.
    assert set(states) == {("ok", "measured"), ("empty", "measured")}


def test_alert_test_helpers_send_only_what_the_agent_sends() -> None:
    """The alert tests' report builders (tests/alerts/support.py) pass the same check."""
    catalogues = {
        "agent": load_catalogue(CATALOGUE_PATH),
        "snmp": load_catalogue(SNMP_CATALOGUE_PATH),
    }
    devices = alert_helpers.expand(
        [
            alert_helpers.pc("PC-1", probe={"motcua": "cut", "dvcqg": "maintenance"}),
            alert_helpers.router("R-1", wan_up=False),
            alert_helpers.printer("P-1", level=5.0, jammed=True),
        ]
    )
    for device in devices:
        report = DeviceReport.model_validate(device)
        check = "snmp" if report.kind.value in SNMP_KINDS else "agent"
        assert catalogues[check].problems([report]) == [], report
