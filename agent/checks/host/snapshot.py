"""What one collection reads from the OS, in one worker thread (every psutil call blocks).

Rates (disk I/O, network) need two collections: the counters are kept by the check between them.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from agent.checks.host.config import HostConfig, nic_excluded
from agent.checks.host.cpu import cpu_percentages
from agent.checks.host.volumes import fixed_volumes, is_physical_disk

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Counters:
    """Monotonic OS counters that turn into rates between two collections."""

    cpu: dict[str, float]
    cores: list[dict[str, float]]
    disks: dict[str, dict[str, float]]
    nics: dict[str, dict[str, float]]


@dataclass(slots=True)
class Snapshot:
    """Everything one collection reads from the OS, taken in one worker thread."""

    counters: Counters
    cpu_now: dict[str, float] | None = None  # first collection: CPU over the short window
    cores_now: list[dict[str, float] | None] = field(default_factory=list)
    memory: Any = None
    swap: Any = None
    volumes: list[tuple[str, Any]] = field(default_factory=list)
    load: tuple[float, float, float] | None = None
    boot_time: float = 0.0
    nic_stats: dict[str, Any] = field(default_factory=dict)
    temperatures: dict[str, list[Any]] = field(default_factory=dict)
    battery: Any = None


def read_counters(per_core: bool, nic_exclude: Sequence[str]) -> Counters:
    """CPU times and the disk and network counters, now."""
    cpu = dict(psutil.cpu_times()._asdict())
    cores = [dict(c._asdict()) for c in psutil.cpu_times(percpu=True)] if per_core else []
    disks: dict[str, dict[str, float]] = {}
    try:
        # None on Windows when disk performance counters are off (diskperf -N).
        per_disk = psutil.disk_io_counters(perdisk=True) or {}
    except (OSError, RuntimeError) as exc:
        log.debug("disk I/O counters unavailable", extra={"error": str(exc)})
        per_disk = {}
    for name, io in per_disk.items():
        if is_physical_disk(name):
            disks[name] = dict(io._asdict())
    nics: dict[str, dict[str, float]] = {}
    try:
        per_nic = psutil.net_io_counters(pernic=True)
    except (OSError, RuntimeError) as exc:
        log.debug("network counters unavailable", extra={"error": str(exc)})
        per_nic = {}
    for name, nic_io in per_nic.items():
        if not nic_excluded(name, nic_exclude):
            nics[name] = dict(nic_io._asdict())
    return Counters(cpu=cpu, cores=cores, disks=disks, nics=nics)


def take_snapshot(config: HostConfig, first: bool, boot_time: Callable[[], float]) -> Snapshot:
    """Read everything once; at the first collection, measure CPU over a short window."""
    cfg = config
    counters = read_counters(cfg.per_core, cfg.nic_exclude)
    snap = Snapshot(counters=counters)
    if first and cfg.cpu_first_window_seconds > 0:
        # A real measurement window (not a test wait): CPU needs two readings.
        time.sleep(cfg.cpu_first_window_seconds)
        later = read_counters(cfg.per_core, cfg.nic_exclude)
        snap.cpu_now = cpu_percentages(counters.cpu, later.cpu)
        snap.cores_now = [
            cpu_percentages(a, b) for a, b in zip(counters.cores, later.cores, strict=False)
        ]
        snap.counters = later
    snap.memory = psutil.virtual_memory()
    try:
        snap.swap = psutil.swap_memory()
    except (OSError, RuntimeError):  # no pagefile / swap accounting unavailable
        snap.swap = None
    try:
        partitions = psutil.disk_partitions(all=False)
    except (OSError, RuntimeError):
        partitions = []
    for _device, mountpoint in fixed_volumes(partitions):
        try:
            snap.volumes.append((mountpoint, psutil.disk_usage(mountpoint)))
        except OSError:  # drive not ready, permission denied
            continue
    with contextlib.suppress(OSError, AttributeError):
        # On Windows psutil emulates the load average with a 5 s sampling thread started on
        # first use; values are 0 until it has sampled.
        snap.load = psutil.getloadavg()
    snap.boot_time = boot_time()
    with contextlib.suppress(OSError):
        snap.nic_stats = {
            name: stats
            for name, stats in psutil.net_if_stats().items()
            if not nic_excluded(name, cfg.nic_exclude)
        }
    if hasattr(psutil, "sensors_temperatures"):
        with contextlib.suppress(OSError, RuntimeError):
            snap.temperatures = psutil.sensors_temperatures()
    if hasattr(psutil, "sensors_battery"):
        with contextlib.suppress(OSError, RuntimeError):
            snap.battery = psutil.sensors_battery()
    return snap
