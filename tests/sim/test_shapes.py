"""The simulator's sample shapes (sim/shapes.py). The site agent's pings as the real ``ping``
check sends them (against 127.0.0.1) and as the simulator does: the line as a ``link`` device, a
LAN device (a UPS) under its own id and kind. A PC's probe of a central system in each state,
a printer's toner and error conditions, and an SNMP device that does not answer, each a device
report the agent's wire schema accepts."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from agent.checks.ping.check import PingCheck, PingConfig
from agent.wire import DeviceKind, DeviceReport
from sim.shapes import (
    MAINTENANCE_MARKER,
    PHASES,
    PingShape,
    PrinterShape,
    ProbeShape,
    probe_targets,
    snmp_unreachable,
)


@contextlib.contextmanager
def _listening() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections (a device that answers)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@contextlib.contextmanager
def _unanswered() -> Iterator[int]:
    """A port whose accept queue is full: handshakes go unanswered, as to a device off."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _shape(report: DeviceReport | dict[str, Any]) -> tuple[str, str, set[Any], set[Any]]:
    """Device id, kind, (sample name, label names) and (event type, attribute names)."""
    device = report if isinstance(report, dict) else report.model_dump(mode="json")
    return (
        device["device_id"],
        device["kind"],
        {(s["name"], tuple(sorted(s["labels"]))) for s in device["samples"]},
        {(e["type"], tuple(sorted(e["attrs"]))) for e in device["events"]},
    )


async def test_the_sim_pings_as_the_ping_check_does_the_line_and_a_lan_device() -> None:
    with _listening() as up_port, _unanswered() as down_port:
        targets = [
            {"name": "wan", "address": "127.0.0.1", "method": "tcp", "tcp_port": up_port},
            {
                "name": "13285-ups-01",
                "address": "127.0.0.1",
                "method": "tcp",
                "tcp_port": up_port,
                "device_id": "13285-UPS-01",
                "kind": "ups",
            },
            {
                "name": "13285-ups-02",
                "address": "127.0.0.1",
                "method": "tcp",
                "tcp_port": down_port,
                "device_id": "13285-UPS-02",
                "kind": "ups",
            },
        ]
        config = PingConfig.model_validate(
            {
                "targets": targets,
                "count": 2,
                "interval_seconds": 0.2,
                "timeout_seconds": 0.3,
                "pc_device_id": "13285-site",
            }
        )
        line, ups_up, ups_down = await PingCheck(config).collect()
    sim_line = PingShape("ping:wan@13285-site", DeviceKind.LINK, "wan", "127.0.0.1", "13285-site")
    sim_ups = PingShape("13285-UPS-01", DeviceKind.UPS, "13285-ups-01", "127.0.0.1", "13285-site")
    sim_off = PingShape("13285-UPS-02", DeviceKind.UPS, "13285-ups-02", "127.0.0.1", "13285-site")
    # Same ids, kinds, samples with the same labels, and the same events, up and down.
    assert _shape(line) == _shape(sim_line.report(True, 0.02, facts=False))
    assert _shape(ups_up) == _shape(sim_ups.report(True, 0.001, facts=False))
    assert _shape(ups_down) == _shape(sim_off.report(False, 0.0, facts=False))
    assert ups_down.events[0].attrs["error_class"] == "timeout"


PHASE_TIMES = {
    "dns": 0.01,
    "connect": 0.02,
    "tls": 0.05,
    "ttfb": 0.3,
    "transfer": 0.1,
    "total": 0.48,
}


def _probe(state: str) -> dict[str, Any]:
    motcua = probe_targets("37")[0]
    shape = ProbeShape("13285-PC-01", motcua)
    report = shape.report(state, PHASE_TIMES, 48_213.0, 87.12345, facts=True)
    DeviceReport.model_validate(report)  # what the collector accepts from an agent
    return report


def _values(report: dict[str, Any]) -> dict[str, float]:
    return {
        s["name"] + (f"[{s['labels']['phase']}]" if "phase" in s["labels"] else ""): s["value"]
        for s in report["samples"]
    }


def test_the_two_central_systems_are_probed_in_the_province() -> None:
    motcua, dvcqg = probe_targets("37")
    assert (motcua.name, motcua.host) == ("motcua", "motcua.37.gov.vn")
    assert motcua.url.startswith("https://motcua.37.gov.vn/")
    assert (dvcqg.name, dvcqg.host) == ("dvcqg", "dichvucong.gov.vn")


def test_a_probe_that_answers_reports_every_phase_and_its_page() -> None:
    ok = _probe("ok")
    assert ok["device_id"] == "probe:motcua@13285-PC-01"
    assert ok["kind"] == "service"
    values = _values(ok)
    assert values["probe_success"] == 1.0
    assert values["probe_http_status"] == 200.0
    assert values["probe_marker_found"] == 1.0
    assert values["probe_maintenance"] == 0.0
    assert values["probe_tls_cert_expiry_days"] == 87.123
    assert {name for name in values if name.startswith("probe_duration")} == {
        f"probe_duration_seconds[{phase}]" for phase in PHASES
    }
    assert ok["events"] == []
    assert ok["facts"]["checked_from"] == "13285-PC-01"
    assert _values(_probe("slow"))["probe_success"] == 1.0


def test_a_failing_page_and_a_maintenance_page_are_503_with_their_event() -> None:
    fail, maintenance = _probe("fail"), _probe("maintenance")
    for report in (fail, maintenance):
        assert _values(report)["probe_success"] == 0.0
        assert _values(report)["probe_http_status"] == 503.0
        assert _values(report)["probe_marker_found"] == 0.0
    (failed,) = fail["events"]
    assert failed["attrs"]["error_class"] == "http_5xx"
    assert failed["message"].startswith("motcua (https://motcua.37.gov.vn/")
    (announced,) = maintenance["events"]
    assert announced["attrs"]["error_class"] == "maintenance"
    assert MAINTENANCE_MARKER in announced["attrs"]["detail"]
    assert _values(maintenance)["probe_maintenance"] == 1.0


def test_a_cut_probe_times_out_with_only_dns_and_total() -> None:
    cut = _probe("cut")
    values = _values(cut)
    assert set(values) == {
        "probe_success",
        "probe_duration_seconds[dns]",
        "probe_duration_seconds[total]",
    }
    (timeout,) = cut["events"]
    assert timeout["attrs"]["curl_code"] == "28"
    assert timeout["attrs"]["detail"] == "Connection timed out after 15001 milliseconds"
    motcua = probe_targets("37")[0]
    quiet = ProbeShape("PC", motcua).report("cut", PHASE_TIMES, 0.0, 0.0, facts=False)
    assert quiet["facts"] == {}


@pytest.mark.parametrize(
    ("percent", "state", "severity"),
    [
        (60.0, "ok", None),
        (10.0, "low", "warning"),
        (4.0, "low", "warning"),
        (0.01, "empty", "critical"),
    ],
)
def test_the_toner_is_ok_low_or_empty_by_its_level(
    percent: float, state: str, severity: str | None
) -> None:
    samples, events = PrinterShape().supply(percent, low_percent=10.0)
    by_name = {s["name"]: s for s in samples}
    assert by_name["printer_supply_state"]["labels"]["state"] == state
    assert by_name["printer_supply_level_raw"]["value"] == round(percent * 30)
    assert by_name["printer_supply_capacity_raw"]["value"] == PrinterShape.CAPACITY
    assert [e["severity"] for e in events] == ([severity] if severity else [])
    if events:
        assert events[0]["attrs"]["problem_class"] == "printer_supply_low"


def test_every_error_condition_is_sampled_and_each_set_one_raised() -> None:
    shape = PrinterShape()
    samples, events = shape.errors(frozenset({"jammed", "door_open"}))
    assert len(samples) == len(shape.conditions)
    raised = {s["labels"]["condition"] for s in samples if s["value"] == 1.0}
    assert raised == {"jammed", "door_open"}
    assert {e["attrs"]["condition"] for e in events} == {"jammed", "door_open"}
    assert all(e["attrs"]["problem_class"] for e in events)
    assert shape.errors(frozenset())[1] == []


def test_a_device_that_does_not_answer_snmp_is_down() -> None:
    samples, event = snmp_unreachable("10.0.0.9")
    assert samples == [{"name": "snmp_up", "value": 0.0, "labels": {}}]
    assert event["severity"] == "critical"
    assert event["attrs"]["address"] == "10.0.0.9"
    assert event["attrs"]["problem_class"] == "device_down"
