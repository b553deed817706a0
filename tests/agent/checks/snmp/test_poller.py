"""agent.checks.snmp.poller: one device's poll over the in-memory agent: reboot detection,
system facts, meta samples, data problems and failures (the check-level scenarios over the
recordings are in test_check_unit.py)."""

from __future__ import annotations

from typing import Any

from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.poller import (
    SYS_DESCR,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    DevicePoller,
    PollOptions,
    detect_reboot,
)
from agent.checks.snmp.profiles import load_profiles
from agent.checks.snmp.resources import HR_PROCESSOR_LOAD
from agent.checks.snmp.values import ObjectIdValue, Oid, Value
from agent.wire import DeviceKind, DeviceReport
from tests.agent.checks.snmp.fake_agent import FakeAgent, FakeDevice
from tests.agent.checks.snmp.support import ManualClock, value_of

PROFILES = load_profiles()


def mib(**changes: Value | None) -> dict[Oid, Value]:
    """A small router: system group and one processor, with ``changes`` by column name."""
    values: dict[str, Value | None] = {
        "descr": b"Acme OS 1.0",
        "object_id": ObjectIdValue((1, 3, 6, 1, 4, 1, 99999, 1)),
        "uptime": 500_000,
        "name": b"core-1",
        "location": b"  Xa A  ",
        "cpu": 7,
        **changes,
    }
    oids = {
        "descr": SYS_DESCR,
        "object_id": SYS_OBJECT_ID,
        "uptime": SYS_UPTIME,
        "name": SYS_NAME,
        "location": SYS_LOCATION,
        "cpu": (*HR_PROCESSOR_LOAD, 1),
    }
    return {oids[key]: value for key, value in values.items() if value is not None}


def poller_for(
    agent: FakeAgent, clock: ManualClock, **target: Any
) -> tuple[DevicePoller, SnmpTargetConfig]:
    config = SnmpTargetConfig(address="127.0.0.1", community="public", **target)
    poller = DevicePoller(config, profiles=PROFILES, options=PollOptions(), clock=clock)
    return poller, config


async def poll_once(device: FakeDevice, **target: Any) -> DeviceReport:
    agent = FakeAgent()
    agent.add("public", device)
    poller, _ = poller_for(agent, ManualClock(), kind=target.pop("kind", "router"), **target)
    return await poller.poll(agent)


def test_reboot_needs_uptime_to_go_down_without_a_wrap() -> None:
    assert detect_reboot(500_000, 0.0, 1_000, 60.0)
    assert not detect_reboot(500_000, 0.0, 506_000, 60.0)
    assert not detect_reboot(None, None, 1_000, 60.0)
    assert not detect_reboot(500_000, 0.0, None, 60.0)
    # TimeTicks wrap after 497 days: 2^32 - 100 ticks + 60 s is past the wrap.
    assert not detect_reboot(2**32 - 100, 0.0, 5_900, 60.0)


def test_reboot_without_a_previous_time_counts_no_elapsed_time() -> None:
    assert detect_reboot(2**32 - 100, None, 5, 60.0)
    assert not detect_reboot(1_000, 0.0, 1_000, 60.0)  # unchanged uptime is no restart


async def test_a_poll_reports_meta_samples_first_then_the_device() -> None:
    report = await poll_once(FakeDevice(mib()))
    names = [s.name for s in report.samples]
    assert names[:5] == [
        "snmp_up",
        "snmp_poll_duration_seconds",
        "snmp_poll_requests",
        "snmp_poll_values",
        "snmp_invalid_values",
    ]
    assert value_of(report, "snmp_up") == 1
    assert value_of(report, "snmp_invalid_values") == 0
    assert value_of(report, "uptime_seconds") == 5_000
    assert value_of(report, "cpu_percent", cpu="1") == 7
    assert value_of(report, "snmp_poll_duration_seconds") == 0  # the clock did not move
    assert (report.device_id, report.kind) == ("127.0.0.1", DeviceKind.ROUTER)
    assert not report.events


async def test_system_facts_are_cleaned_and_the_object_id_is_dotted() -> None:
    report = await poll_once(FakeDevice(mib()))
    assert report.facts["sys_name"] == "core-1"
    assert report.facts["sys_location"] == "Xa A"
    assert report.facts["sys_descr"] == "Acme OS 1.0"
    assert report.facts["sys_object_id"] == "1.3.6.1.4.1.99999.1"
    assert "vendor" not in report.facts  # enterprise 99999 has no profile


async def test_a_restart_between_polls_is_one_reboot_event() -> None:
    agent, clock = FakeAgent(), ManualClock()
    device = agent.add("public", FakeDevice(mib()))
    poller, _ = poller_for(agent, clock, kind="router")
    assert not (await poller.poll(agent)).events
    device.mib[SYS_UPTIME] = 3_000
    clock.advance(60)
    restarted = await poller.poll(agent)
    assert [e.type for e in restarted.events] == ["device_rebooted"]
    assert restarted.events[0].attrs == {
        "uptime_seconds": "30",
        "previous_uptime_seconds": "5000",
    }
    device.mib[SYS_UPTIME] = 9_000
    clock.advance(60)
    assert not (await poller.poll(agent)).events


async def test_a_device_without_sysuptime_still_reports() -> None:
    report = await poll_once(FakeDevice(mib(uptime=None)))
    assert value_of(report, "snmp_up") == 1
    assert value_of(report, "uptime_seconds") is None


async def test_garbage_in_the_system_group_fails_the_poll_as_a_decode_error() -> None:
    for bad in (mib(object_id=b"1.3.6.1"), mib(uptime=-5), mib(uptime=b"up")):
        report = await poll_once(FakeDevice(bad))
        assert value_of(report, "snmp_up") == 0
        (event,) = report.events
        assert event.type == "snmp_poll_failed"
        assert event.attrs == {
            "error": "decode",
            "address": "127.0.0.1:161",
            "problem_class": "device_health",
        }


async def test_a_silent_device_is_unreachable_and_keeps_its_hinted_kind() -> None:
    report = await poll_once(FakeDevice(mib(), silent=True), kind="printer")
    assert [s.name for s in report.samples] == [
        "snmp_up",
        "snmp_poll_duration_seconds",
        "snmp_poll_requests",
        "snmp_poll_values",
    ]
    assert value_of(report, "snmp_up") == 0
    (event,) = report.events
    assert event.type == "snmp_target_unreachable"
    assert event.attrs["problem_class"] == "device_down"
    assert event.attrs["error"] == "timeout"
    assert report.kind == DeviceKind.PRINTER


async def test_an_unknown_device_that_never_answered_is_other() -> None:
    report = await poll_once(FakeDevice(mib(), silent=True), kind="auto")
    assert report.kind == DeviceKind.OTHER


async def test_invalid_values_are_counted_and_summarised_in_one_event() -> None:
    report = await poll_once(FakeDevice(mib(cpu=b"busy")))
    assert value_of(report, "snmp_up") == 1
    assert value_of(report, "snmp_invalid_values") == 1
    assert value_of(report, "cpu_percent", cpu="1") is None
    (event,) = report.events
    assert event.type == "snmp_data_invalid"
    assert event.attrs == {"count": "1"}
    assert "1.3.6.1.2.1.25.3.3.1.2.1" in event.message


async def test_the_poll_duration_is_measured_on_the_injected_clock() -> None:
    clock = ManualClock()

    class SlowAgent(FakeAgent):
        async def get(self, target: SnmpTargetConfig, oids: Any) -> Any:
            clock.advance(1.25)  # each GET takes 1.25 s of the test's time
            return await super().get(target, oids)

    agent = SlowAgent()
    agent.add("public", FakeDevice(mib()))
    poller, _ = poller_for(agent, clock, kind="router")
    report = await poller.poll(agent)
    # One GET (the system group; no vendor scalars) and GETBULKs for the walk, which take no time.
    assert value_of(report, "snmp_poll_duration_seconds") == 1.25
    requests = value_of(report, "snmp_poll_requests")
    assert requests is not None
    assert requests >= 2
