"""The host check as a whole: invariants on live data, the first collection, its defaults."""

from __future__ import annotations

from datetime import timedelta

import psutil

from agent.checks.host import HostCheck, HostConfig
from tests.agent.checks.helpers import FakeClock
from tests.agent.checks.host.support import NO_SMART, by_name, collect, one


async def test_host_live_invariants_and_rates_from_the_second_collection():
    clock = FakeClock()
    check = HostCheck(
        HostConfig(device_id="pc-01", cpu_first_window_seconds=0.05, **NO_SMART), clock=clock
    )
    first = await collect(check)
    assert first.device_id == "pc-01"
    assert first.kind == "pc"
    rate_names = {
        "disk_io_bytes_per_second",
        "disk_io_operations_per_second",
        "network_bytes_per_second",
        "network_packets_per_second",
    }
    assert not rate_names & {s.name for s in first.samples}  # rates need two collections

    clock.advance(15)
    second = await collect(check)
    names = {s.name for s in second.samples}
    assert "network_bytes_per_second" in names or not psutil.net_io_counters(pernic=True)
    for report in (first, second):
        for sample in report.samples:
            if sample.name.endswith("_percent"):
                assert 0.0 <= sample.value <= 100.0, sample
            if sample.name.endswith(("_bytes", "_per_second", "_seconds")):
                assert sample.value >= 0, sample
            if sample.name.endswith("_ratio"):
                assert 0.0 <= sample.value <= 1.0, sample
        assert 0 <= one(report, "cpu_percent") <= 100
        total, available = one(report, "memory_total_bytes"), one(report, "memory_available_bytes")
        assert 0 < available <= total
        assert one(report, "memory_used_bytes") == total - available
        assert one(report, "uptime_seconds") >= 0
        volumes = by_name(report, "disk_used_percent")
        assert volumes, "at least one fixed volume"
        assert all(s.labels["volume"] for s in volumes)
    logical = psutil.cpu_count() or 0
    if logical:
        cores = {s.labels["core"] for s in by_name(second, "cpu_core_percent")}
        assert cores == {str(i) for i in range(logical)}
    facts = second.facts
    for key in ("hostname", "os", "cpu_model", "ram_total_bytes", "cpu_cores_logical"):
        assert facts[key], key
    assert int(facts["ram_total_bytes"]) == psutil.virtual_memory().total


async def test_host_cpu_waits_for_the_second_collection_without_a_first_window():
    clock = FakeClock()
    check = HostCheck(HostConfig(cpu_first_window_seconds=0, **NO_SMART), clock=clock)
    first = await collect(check)
    assert by_name(first, "cpu_percent") == []
    assert by_name(first, "memory_used_percent")  # non-rate values come at once


def test_host_default_config_is_valid():
    from agent.agent_config import default_agent_config

    assert default_agent_config().checks["host"].check == "host"
    assert HostConfig().smartctl_path == "smartctl"
    assert timedelta(seconds=HostConfig().smart_interval_seconds) == timedelta(hours=1)


def test_interface_exclusion_ignores_case_and_matches_patterns():
    from agent.checks.host.config import DEFAULT_NIC_EXCLUDE, nic_excluded

    assert nic_excluded("Loopback Pseudo-Interface 1", DEFAULT_NIC_EXCLUDE)
    assert nic_excluded("docker0", DEFAULT_NIC_EXCLUDE)
    assert not nic_excluded("Ethernet", DEFAULT_NIC_EXCLUDE)
    assert not nic_excluded("eth0", ())


async def test_host_facts_include_the_os_name_version_and_build():
    check = HostCheck(HostConfig(cpu_first_window_seconds=0, **NO_SMART), clock=FakeClock())
    facts = (await collect(check)).facts
    assert {"os", "os_name", "os_version", "os_build"} <= set(facts)
    assert all(len(value) <= 500 for value in facts.values())
