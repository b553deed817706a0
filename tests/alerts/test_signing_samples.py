"""The signing-chain helpers send only what the agent's checks send (its catalogue says so)."""

from __future__ import annotations

from pydantic import TypeAdapter

from agent.catalogue import load_all
from agent.wire import DeviceReport
from tests.alerts.signing_samples import Cert, signing_report, tokens_report, windows
from tests.fakes import FakeClock

_DEVICES: TypeAdapter[list[DeviceReport]] = TypeAdapter(list[DeviceReport])


def test_every_signing_and_token_sample_and_event_is_catalogued() -> None:
    clock = FakeClock()
    devices = [
        tokens_report("PC-1", clock, [Cert("Nguyễn Văn An", "54AB01", 5.0)]),
        tokens_report("PC-2", clock, present=False),
        signing_report("PC-1"),
        signing_report("PC-2", vnpt_ca="error", vgca="ok", answer="-1"),
        signing_report("PC-3", vnpt_ca="down", vgca="down"),
    ]
    reports = _DEVICES.validate_python(devices)
    assert load_all().problems(reports) == []
    names = {sample.name for report in reports for sample in report.samples}
    assert {"signing_plugin_up", "token_present", "signing_cert_expiry_days"} <= names
    events = {event.type for report in reports for event in report.events}
    assert events == {"signing_plugin_error", "signing_plugin_down"}


def test_windows_facts_are_the_host_checks() -> None:
    assert windows("win10") == {
        "os": "Windows 10 Professional 10.0.19045",
        "os_name": "Windows 10",
        "os_version": "22H2",
        "os_build": "19045",
    }
    assert windows("win11_24h2")["os_name"] == "Windows 11"
