"""agent.checks.host.snapshot: what one collection reads from this machine's OS."""

from __future__ import annotations

import psutil

from agent.checks.host.config import HostConfig
from agent.checks.host.snapshot import Counters, read_counters, take_snapshot
from agent.checks.host.volumes import is_physical_disk


def test_counters_cover_the_cpu_physical_disks_and_kept_interfaces() -> None:
    counters = read_counters(per_core=True, nic_exclude=("lo",))
    assert isinstance(counters, Counters)
    assert set(counters.cpu) == set(psutil.cpu_times()._fields)
    assert len(counters.cores) == len(psutil.cpu_times(percpu=True))
    assert all(is_physical_disk(name) for name in counters.disks)
    assert "lo" not in counters.nics
    for nic in counters.nics.values():
        assert {"bytes_sent", "bytes_recv"} <= set(nic)


def test_per_core_off_and_every_interface_excluded() -> None:
    counters = read_counters(per_core=False, nic_exclude=("*",))
    assert counters.cores == []
    assert counters.nics == {}
    assert counters.cpu  # the CPU total is always read


def test_a_later_collection_reads_once_without_a_cpu_window() -> None:
    config = HostConfig(nic_exclude=("*",))
    snap = take_snapshot(config, first=False, boot_time=lambda: 1_700_000_000.5)
    assert snap.cpu_now is None
    assert snap.cores_now == []
    assert snap.boot_time == 1_700_000_000.5
    assert snap.memory.total == psutil.virtual_memory().total
    assert snap.nic_stats == {}  # excluded interfaces are left out here too
    assert snap.counters.nics == {}
    assert len({mount for mount, _usage in snap.volumes}) == len(snap.volumes)
    for _mount, usage in snap.volumes:
        assert usage.total > 0
    if snap.load is not None:
        assert len(snap.load) == 3


def test_a_zero_first_window_skips_the_cpu_measurement() -> None:
    config = HostConfig(cpu_first_window_seconds=0, per_core=False)
    snap = take_snapshot(config, first=True, boot_time=lambda: 0.0)
    assert snap.cpu_now is None
    assert snap.cores_now == []


def test_the_first_collection_measures_cpu_over_its_window() -> None:
    before = read_counters(per_core=True, nic_exclude=())
    # The window is the code's own measurement (two readings), the shortest that is allowed.
    config = HostConfig(cpu_first_window_seconds=0.05, per_core=True)
    snap = take_snapshot(config, first=True, boot_time=lambda: 0.0)
    # The counters kept for the next rates are the later reading.
    assert sum(snap.counters.cpu.values()) >= sum(before.cpu.values())
    assert len(snap.cores_now) == len(before.cores)
    for reading in [snap.cpu_now, *snap.cores_now]:
        if reading is not None:  # None when no tick passed on a core
            assert 0.0 <= reading["busy"] <= 100.0
