"""Samples of the ``host`` check from a snapshot: CPU, memory, volumes, rates, interfaces, sensors.

Pure functions of the snapshot (and of the previous counters for rates): a counter that went
backwards (reboot, driver reload, NIC re-plug) gives no rate for that round instead of a huge
negative one. Temperatures exist in psutil on Linux and FreeBSD only, the battery on Linux,
Windows and macOS: each optional source may be missing from a snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping

from agent.checks.common import finite_or_none
from agent.checks.host.cpu import clamp, counter_rate, cpu_percentages
from agent.checks.host.snapshot import Counters, Snapshot
from agent.checks.host.volumes import volume_label
from agent.wire import Sample


def cpu_samples(previous: Counters | None, snap: Snapshot) -> list[Sample]:
    """CPU busy/iowait/steal (since ``previous``, else over the first window) and load."""
    if previous is not None:
        total = cpu_percentages(previous.cpu, snap.counters.cpu)
        cores = [
            cpu_percentages(a, b) for a, b in zip(previous.cores, snap.counters.cores, strict=False)
        ]
    else:
        total, cores = snap.cpu_now, snap.cores_now
    samples: list[Sample] = []
    if total is not None:
        samples.append(Sample(name="cpu_percent", value=total["busy"]))
        for key in ("iowait", "steal"):
            if key in total:
                samples.append(Sample(name=f"cpu_{key}_percent", value=total[key]))
    for index, core in enumerate(cores):
        if core is not None:
            samples.append(
                Sample(name="cpu_core_percent", value=core["busy"], labels={"core": str(index)})
            )
    if snap.load is not None:
        for period, value in zip(("1m", "5m", "15m"), snap.load, strict=True):
            if (checked := finite_or_none(value)) is not None:
                samples.append(Sample(name=f"load_average_{period}", value=checked))
    return samples


def memory_samples(snap: Snapshot) -> list[Sample]:
    """Physical memory and swap."""
    mem = snap.memory
    samples = [
        Sample(name="memory_total_bytes", value=float(mem.total)),
        Sample(name="memory_available_bytes", value=float(mem.available)),
        Sample(name="memory_used_bytes", value=float(max(0, mem.total - mem.available))),
        Sample(name="memory_used_percent", value=clamp(float(mem.percent), 0.0, 100.0)),
    ]
    if snap.swap is not None:
        samples += [
            Sample(name="swap_total_bytes", value=float(snap.swap.total)),
            Sample(name="swap_used_bytes", value=float(snap.swap.used)),
            Sample(name="swap_used_percent", value=clamp(float(snap.swap.percent), 0, 100)),
        ]
    return samples


def volume_samples(snap: Snapshot) -> list[Sample]:
    """Size, free space and use of each fixed volume."""
    samples: list[Sample] = []
    for mountpoint, usage in snap.volumes:
        labels = {"volume": volume_label(mountpoint)[:200]}
        samples += [
            Sample(name="disk_total_bytes", value=float(usage.total), labels=labels),
            Sample(name="disk_free_bytes", value=float(usage.free), labels=labels),
            Sample(
                name="disk_used_percent",
                value=clamp(float(usage.percent), 0.0, 100.0),
                labels=labels,
            ),
        ]
    return samples


def rate_samples(previous: Counters | None, counters: Counters, elapsed: float) -> list[Sample]:
    """Disk and network rates between ``previous`` and ``counters``, ``elapsed`` seconds apart."""
    if previous is None:
        return []
    samples: list[Sample] = []

    def rate(
        name: str,
        labels: dict[str, str],
        before: Mapping[str, float],
        after: Mapping[str, float],
        key: str,
        scale: float = 1.0,
    ) -> None:
        if key in before and key in after:
            value = counter_rate(before[key], after[key], elapsed)
            if value is not None:
                samples.append(Sample(name=name, value=value * scale, labels=labels))

    for disk, after in counters.disks.items():
        before = previous.disks.get(disk)
        if before is None:
            continue
        for direction, bytes_key, ops_key in (
            ("read", "read_bytes", "read_count"),
            ("write", "write_bytes", "write_count"),
        ):
            labels = {"disk": disk, "direction": direction}
            rate("disk_io_bytes_per_second", labels, before, after, bytes_key)
            rate("disk_io_operations_per_second", labels, before, after, ops_key)
        # busy_time (ms) exists on Linux and FreeBSD: the share of time the disk was busy,
        # which is what saturates first on an old HDD.
        busy = {"disk": disk}
        if "busy_time" in after and "busy_time" in before:
            value = counter_rate(before["busy_time"], after["busy_time"], elapsed)
            if value is not None:
                samples.append(
                    Sample(name="disk_busy_ratio", value=clamp(value / 1000, 0, 1), labels=busy)
                )
    for nic, after in counters.nics.items():
        before = previous.nics.get(nic)
        if before is None:
            continue
        for direction, suffix_in in (("receive", "recv"), ("transmit", "sent")):
            labels = {"nic": nic, "direction": direction}
            rate("network_bytes_per_second", labels, before, after, f"bytes_{suffix_in}")
            rate("network_packets_per_second", labels, before, after, f"packets_{suffix_in}")
            err_key = "errin" if direction == "receive" else "errout"
            drop_key = "dropin" if direction == "receive" else "dropout"
            rate("network_errors_per_second", labels, before, after, err_key)
            rate("network_drops_per_second", labels, before, after, drop_key)
    return samples


def nic_state_samples(snap: Snapshot) -> list[Sample]:
    """Link state and speed of each interface."""
    samples: list[Sample] = []
    for nic, stats in snap.nic_stats.items():
        labels = {"nic": nic}
        samples.append(Sample(name="network_up", value=float(bool(stats.isup)), labels=labels))
        if stats.speed and stats.speed > 0:  # Mbit/s; 0 when the driver does not say
            samples.append(
                Sample(
                    name="network_link_speed_bits_per_second",
                    value=float(stats.speed) * 1e6,
                    labels=labels,
                )
            )
    return samples


def sensor_samples(snap: Snapshot) -> list[Sample]:
    """Temperatures (plausible readings only) and the battery."""
    samples: list[Sample] = []
    seen: set[tuple[str, str]] = set()
    for chip, entries in snap.temperatures.items():
        for index, entry in enumerate(entries):
            value = finite_or_none(entry.current)
            # Broken sensors report -273 or 255 °C; keep plausible readings only.
            if value is None or not -40 <= value <= 150:
                continue
            sensor = (entry.label or f"temp{index + 1}")[:100]
            key, suffix = (chip[:90], sensor), 2
            while key in seen:  # two NVMe chips both named "nvme" with a "Composite" sensor
                key, suffix = (f"{chip[:90]}#{suffix}", sensor), suffix + 1
            seen.add(key)
            samples.append(
                Sample(
                    name="temperature_celsius",
                    value=value,
                    labels={"chip": key[0], "sensor": key[1]},
                )
            )
    battery = snap.battery
    if battery is not None:
        if (percent := finite_or_none(battery.percent)) is not None:
            samples.append(Sample(name="battery_percent", value=clamp(percent, 0, 100)))
        if battery.power_plugged is not None:
            samples.append(Sample(name="battery_plugged", value=float(battery.power_plugged)))
        # Negative values are psutil's POWER_TIME_UNKNOWN / POWER_TIME_UNLIMITED markers.
        if isinstance(battery.secsleft, int | float) and battery.secsleft >= 0:
            samples.append(Sample(name="battery_time_left_seconds", value=float(battery.secsleft)))
    return samples
