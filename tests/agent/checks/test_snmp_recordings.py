"""Every shared recording, served by snmpsim, polled by the real check and compared with the
answer key LibreNMS produced from the same device (``<name>.expected.json``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agent.checks.snmp import SnmpCheck, SnmpCheckConfig
from agent.snmp.printer import ERROR_CONDITIONS
from agent.wire import DeviceReport, Sample
from tests.agent.snmp.fake_agent import load_snmprec
from tests.agent.snmp.support import assert_catalogued
from tests.services import SHARED

RECORDINGS_DIR = SHARED / "snmp"
RECORDINGS = sorted(p.stem for p in RECORDINGS_DIR.glob("*.snmprec")) or ["<no recordings>"]
IF_STATUS = {
    "up": 1, "down": 2, "testing": 3, "unknown": 4, "dormant": 5, "notPresent": 6,
    "lowerLayerDown": 7, "0": 0,
}  # fmt: skip
SPECIAL_STATES = {-1: "other", -2: "unknown", -3: "some_remaining"}
LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4."
ERROR_STATE = (1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2)


def expected(name: str) -> dict[str, Any]:
    """The answer key of recording ``name``."""
    data: dict[str, Any] = json.loads(
        (RECORDINGS_DIR / f"{name}.expected.json").read_text(encoding="utf-8")
    )
    return data


def select(report: DeviceReport, name: str, **labels: str) -> list[Sample]:
    """Samples called ``name`` whose labels include ``labels``."""
    return [
        s
        for s in report.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def one(report: DeviceReport, name: str, **labels: str) -> float | None:
    """The value of the single sample matching, or None if there is none."""
    found = select(report, name, **labels)
    assert len(found) <= 1, f"{len(found)} samples {name}{labels}"
    return found[0].value if found else None


def decode_bits(raw: bytes) -> set[str]:
    """RFC 2790 bit order, written independently of the code under test."""
    bits = "".join(f"{octet:08b}" for octet in raw)
    return {ERROR_CONDITIONS[i][0] for i, bit in enumerate(bits[:15]) if bit == "1"}


@pytest.fixture(scope="module")
def polled(snmpsim: Any) -> dict[str, DeviceReport]:
    """One poll of every recording through the real check and pysnmp."""
    config = SnmpCheckConfig(targets=[snmpsim.target(name) for name in RECORDINGS])
    reports = asyncio.run(SnmpCheck(config).collect())
    return {report.device_id: report for report in reports}


@pytest.fixture(params=RECORDINGS)
def case(request: pytest.FixtureRequest, polled: dict[str, DeviceReport]) -> tuple[
    DeviceReport, dict[str, Any]
]:  # fmt: skip
    """(our report, the expected file) for one recording."""
    name: str = request.param
    return polled[name], expected(name)


def test_recording_polls_cleanly_as_the_expected_kind(
    case: tuple[DeviceReport, dict[str, Any]],
) -> None:
    report, key = case
    assert one(report, "snmp_up") == 1
    assert one(report, "snmp_invalid_values") == 0
    assert not [e for e in report.events if e.type.startswith("snmp_")]
    assert report.kind.value == key["kind"]


def test_system_group_matches(case: tuple[DeviceReport, dict[str, Any]]) -> None:
    report, key = case
    system = key["system"]
    # A field LibreNMS stored as null is absent from the answer key.
    if "sysName" in system:
        assert report.facts.get("sys_name", "") == system["sysName"]
    if "sysDescr" in system:
        # LibreNMS's copy of sysDescr may differ in whitespace and line breaks.
        want = " ".join(system["sysDescr"].split())[:256]
        assert report.facts.get("sys_descr", "") == want
    assert report.facts["sys_object_id"] == system["sysObjectID"]
    if system.get("serial"):
        assert report.facts.get("serial") == system["serial"]


def test_supplies_match(case: tuple[DeviceReport, dict[str, Any]]) -> None:
    report, key = case
    supplies = key.get("supplies", [])
    markers = [s for s in supplies if s["type"] != "input"]
    ours = {s.labels["supply"] for s in select(report, "printer_supply_state")}
    assert ours == {str(s["index"]) for s in markers}
    for supply in supplies:
        tray = supply["type"] == "input"
        prefix = "printer_input" if tray else "printer_supply"
        where = {"input" if tray else "supply": str(supply["index"])}
        states = select(report, f"{prefix}_state", **where)
        assert len(states) == 1, (supply, states)
        labels = states[0].labels
        assert labels["description"] == supply["description"]
        if not tray:
            # LibreNMS says 'markerSupply' where the recording has no prtMarkerSuppliesType.
            want_type = "unknown" if supply["type"] == "markerSupply" else supply["type"]
            assert labels["type"] == want_type
        level, capacity = supply["raw_level"], supply["raw_max_capacity"]
        percent = one(report, f"{prefix}_level_percent", **where)
        if level >= 0:
            assert one(report, f"{prefix}_level_raw", **where) == level
        else:
            assert labels["state"] == SPECIAL_STATES[level]
            assert one(report, f"{prefix}_level_raw", **where) is None
            assert percent is None, "a special value must not become a percent"
        assert one(report, f"{prefix}_capacity_raw", **where) == (
            capacity if capacity >= 0 else None
        )
        if level >= 0 and capacity > 0 and supply.get("level_in_recording", True):
            assert percent is not None
            assert abs(percent - supply["percent"]) <= 0.5 + 1e-9, (supply, percent)


def test_page_counter_matches(case: tuple[DeviceReport, dict[str, Any]]) -> None:
    report, key = case
    life = [c for c in key.get("page_counters", []) if c["oid"].startswith(LIFE_COUNT)]
    pages = select(report, "printer_pages_total")
    assert len(pages) == len(life)
    for counter in life:
        marker = counter["oid"].rsplit(".", 1)[1]
        assert one(report, "printer_pages_total", marker=marker) == counter["value"]


def test_printer_status_and_error_bits_match(
    case: tuple[DeviceReport, dict[str, Any]],
) -> None:
    report, key = case
    raw_error_state: dict[str, bytes] = {}
    for status in key.get("printer_status", []):
        index = status["oid"].rsplit(".", 1)[1]
        if status["sensor_type"] == "hrDeviceStatus":
            assert one(report, "printer_status", printer=index) == status["value"]
        else:
            raw = status["raw_snmprec"]
            assert raw["type"] == "4x"
            raw_error_state[index] = bytes.fromhex(raw["value"])
    if not raw_error_state and key["kind"] == "printer":
        # LibreNMS has no sensor for an empty error state (Epson); read the recording itself.
        mib = load_snmprec(RECORDINGS_DIR / f"{key['name']}.snmprec")
        for oid, value in mib.items():
            if oid[: len(ERROR_STATE)] == ERROR_STATE and isinstance(value, bytes):
                raw_error_state[".".join(map(str, oid[len(ERROR_STATE) :]))] = value
    for index, raw in raw_error_state.items():
        active = decode_bits(raw)
        for condition, _cls, _sev in ERROR_CONDITIONS:
            got = one(report, "printer_error", printer=index, condition=condition)
            assert got == (1 if condition in active else 0), (index, condition, raw.hex())
        events = {e.attrs["condition"] for e in report.events if e.type == "printer_error"}
        assert events == active
    if not raw_error_state:
        assert not select(report, "printer_error")


def test_interfaces_match(case: tuple[DeviceReport, dict[str, Any]]) -> None:
    report, key = case
    interfaces = key.get("interfaces", [])
    assert len(select(report, "if_info")) >= len(interfaces)
    for interface in interfaces:
        where = {"if_index": str(interface["ifIndex"])}
        info = select(report, "if_info", **where)
        assert len(info) == 1
        assert info[0].labels["interface"] in {interface["ifName"], interface["ifDescr"]}
        if not info[0].labels["type"].isdigit():
            assert info[0].labels["type"] == interface["ifType"]
        oper = IF_STATUS[interface["ifOperStatus"]]
        assert one(report, "if_oper_status", **where) == oper
        assert one(report, "if_oper_up", **where) == (1 if oper == 1 else 0)
        if "ifAdminStatus" in interface:
            admin = IF_STATUS[interface["ifAdminStatus"]]
            assert one(report, "if_admin_status", **where) == admin
            assert one(report, "if_admin_up", **where) == (1 if admin == 1 else 0)
        if "ifSpeed" in interface:
            assert one(report, "if_speed_bits_per_second", **where) == interface["ifSpeed"]
        octets_in = one(report, "if_in_octets_total", **where)
        octets_out = one(report, "if_out_octets_total", **where)
        if oper != 1:
            assert octets_in is None, "counters only for interfaces that are up"
            assert octets_out is None
        elif interface.get("octets_in_recording", True):
            assert octets_in == interface["ifInOctets"]
            assert octets_out == interface["ifOutOctets"]
        else:
            assert octets_in is None
            assert octets_out is None
        # One poll gives no rate yet.
        assert one(report, "if_in_bits_per_second", **where) is None


def test_processors_match(case: tuple[DeviceReport, dict[str, Any]]) -> None:
    report, key = case
    ours = sorted(s.value for s in select(report, "cpu_percent"))
    want = sorted(p["usage_percent"] for p in key.get("processors", []))
    assert ours == want


def test_memory_pools_match(case: tuple[DeviceReport, dict[str, Any]]) -> None:
    report, key = case
    pools = key.get("mempools", [])
    ours = select(report, "memory_used_percent")
    assert len(ours) == len(pools)
    unmatched = list(ours)
    for pool in pools:
        if pool["type"] == "hrstorage":
            value = one(report, "memory_used_percent", pool=pool["description"])
            assert value is not None, pool
            assert abs(value - pool["percent"]) <= 0.5 + 1e-9, (pool, value)
            unmatched = [s for s in unmatched if s.labels["pool"] != pool["description"]]
        else:
            # Vendor pools are named differently by LibreNMS; match them by value.
            match = next(s for s in unmatched if abs(s.value - pool["percent"]) <= 0.5 + 1e-9)
            unmatched.remove(match)
    assert not unmatched


def test_every_recording_has_an_answer_key() -> None:
    assert RECORDINGS != ["<no recordings>"], f"no recordings in {RECORDINGS_DIR}"
    for name in RECORDINGS:
        assert Path(RECORDINGS_DIR / f"{name}.expected.json").is_file()


def test_every_emitted_sample_and_event_is_catalogued(polled: dict[str, DeviceReport]) -> None:
    assert_catalogued(list(polled.values()))


def test_emitted_values_are_sane(polled: dict[str, DeviceReport]) -> None:
    for report in polled.values():
        for sample in report.samples:
            if sample.name.endswith("_percent"):
                assert 0 <= sample.value <= 100, (report.device_id, sample)
            if sample.name.endswith(("_total", "_bytes", "_seconds", "_raw")):
                assert sample.value >= 0, (report.device_id, sample)
