"""The evidence faults leave in stored reports (sim/symptoms.py): a device's own symptoms read
from its samples and events, and the comparison with a scenario's ground truth (missing,
unexplained, and central-system trouble excused inside a declared window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent.wire import DeviceReport
from alerts.windows import WindowSpec
from sim import ExpectedIncident
from sim.fleet import SimAgent
from sim.symptoms import ObservedReport, Symptom, compare, observed_symptoms

T0 = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday 09:00 in Hà Nội: open
COMMUNE = "13285"
SITE = SimAgent(f"{COMMUNE}/site", COMMUNE, "site", "site-host", ())


def _device(device_id: str, kind: str, samples: dict[str, float], **more: Any) -> DeviceReport:
    return DeviceReport.model_validate(
        {
            "device_id": device_id,
            "kind": kind,
            "samples": [{"name": n, "value": v, "labels": {}} for n, v in samples.items()],
            "events": more.get("events", []),
        }
    )


def _report(*devices: DeviceReport, at: datetime = T0) -> ObservedReport:
    return ObservedReport(SITE, 1, at, at, tuple(devices))


def _jam() -> dict[str, Any]:
    return {
        "type": "printer_error",
        "severity": "critical",
        "message": "printer 1 reports jammed",
        "attrs": {"printer": "1", "condition": "jammed", "problem_class": "printer_fault"},
    }


def test_each_devices_own_symptoms_are_read_from_its_samples_and_events() -> None:
    report = _report(
        _device("PC-FULL", "pc", {"disk_used_percent": 99.2, "smart_healthy": 1.0}),
        _device("PC-SMART", "pc", {"disk_used_percent": 40.0, "smart_healthy": 0.0}),
        _device("PC-OK", "pc", {"disk_used_percent": 98.9, "smart_healthy": 1.0}),
        _device("PR-JAM", "printer", {"snmp_up": 1.0}, events=[_jam()]),
        _device("PR-EMPTY", "printer", {"snmp_up": 1.0, "printer_supply_level_percent": 0.0}),
        _device("PR-OFF", "printer", {"snmp_up": 0.0, "printer_supply_level_percent": 0.0}),
        _device("UPS-OFF", "ups", {"ping_up": 0.0}),
        _device("SW-OK", "switch", {"snmp_up": 1.0}),
    )
    found = {(s.problem_class, s.device_id) for s in observed_symptoms([report])}
    assert found == {
        ("device_health", "PC-FULL"),
        ("device_health", "PC-SMART"),
        ("printer_fault", "PR-JAM"),
        ("printer_supply_low", "PR-EMPTY"),
        ("device_down", "PR-OFF"),  # down: its toner is not read
        ("device_down", "UPS-OFF"),
    }
    assert all(s.commune_code == COMMUNE and s.at == T0 for s in observed_symptoms([report]))


def test_symptoms_come_once_each_in_time_order() -> None:
    later = _report(
        _device("PC-FULL", "pc", {"disk_used_percent": 100.0}), at=T0 + timedelta(minutes=1)
    )
    first = _report(_device("PC-FULL", "pc", {"disk_used_percent": 100.0}))
    found = observed_symptoms([later, first, first])
    assert [s.at for s in found] == [T0, T0 + timedelta(minutes=1)]


def _incident(kind: str, device: str | None, start: datetime, end: datetime) -> ExpectedIncident:
    return ExpectedIncident(kind, COMMUNE, device, start, end, f"fault-{kind}")


def test_compare_finds_what_is_missing_and_what_is_unexplained() -> None:
    jam = _incident("printer_fault", "PR-1", T0, T0 + timedelta(minutes=20))
    disk = _incident("device_health", "PC-1", T0, T0 + timedelta(hours=1))
    symptoms = [
        Symptom("printer_fault", COMMUNE, "PR-1", T0 + timedelta(minutes=5)),
        # The right problem, but another device, and after the incident's end.
        Symptom("device_health", COMMUNE, "PC-2", T0),
        Symptom("printer_fault", COMMUNE, "PR-1", T0 + timedelta(minutes=20)),
    ]
    check = compare([jam, disk], symptoms)
    assert check.missing == [disk]
    assert check.unexplained == symptoms[1:]
    assert not check.ok
    assert compare([jam], symptoms[:1]).ok


def test_central_system_trouble_inside_a_declared_window_needs_no_incident() -> None:
    window = WindowSpec(
        reason="bảo trì cổng dịch vụ công",
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1),
    )
    inside = Symptom("software_outage", None, None, T0 + timedelta(minutes=30))
    after = Symptom("software_outage", None, None, T0 + timedelta(hours=1))
    site = Symptom("site_outage", COMMUNE, None, T0 + timedelta(minutes=30))
    check = compare([], [inside, after, site], [window])
    assert check.unexplained == [after, site]
