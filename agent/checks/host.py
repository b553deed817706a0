"""Host health of a counter PC through psutil: CPU, memory, disks, network, uptime, sensors, SMART.

One ``DeviceReport`` of kind ``pc`` per collection. Design choices:

- Every psutil call is blocking (``/proc`` reads on Linux, WMI-less Win32 calls on Windows), so one
  worker thread takes a whole snapshot per collection (``asyncio.to_thread``).
- Rates (disk I/O, network) need two collections: the previous counters are kept with the injected
  clock's monotonic time. A counter that went backwards (reboot, driver reload, NIC re-plug) gives
  no rate for that round instead of a huge negative one.
- CPU percentages come from ``cpu_times`` deltas, not psutil's module-level ``cpu_percent`` state,
  so they also give iowait and steal; the first collection measures over a short window
  (``cpu_first_window_seconds``) so that a technician's one-shot ``commune-agent check`` sees CPU.
- Reboots are detected by the boot time moving forward (seeded from an optional state file so a
  restart of the agent with the PC still sees the reboot), or, with no earlier boot time known,
  by a small uptime at the first collection. Windows "fast startup" hibernates instead of shutting
  down, so a power-off/on without a restart may not count as a reboot there.
- Top processes by memory only when memory is short, as one event with attributes, never as
  per-process samples (unbounded cardinality).
- SMART through ``smartctl -j`` every ``smart_interval_seconds`` (SMART attributes move slowly and
  querying wakes disks); SMART samples appear only in the reports where they were measured.
  No smartctl: one ``smartctl_missing`` event in the life of the check, then silence.
- Temperatures exist in psutil on Linux and FreeBSD only, the battery on Linux, Windows and macOS:
  every optional source is guarded by ``hasattr`` and by its own error handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, ClassVar, Protocol

import psutil
from pydantic import Field

from agent.checks.base import CheckConfig, Clock, SystemClock
from agent.checks.common import CheckError, finite_or_none, hidden_window_flags, pc_device_id
from agent.wire import DeviceId, DeviceKind, DeviceReport, Event, Sample, Severity

log = logging.getLogger(__name__)

# Interfaces that carry no site traffic: loopback, container bridges, tunnels, Linux IFB shapers.
DEFAULT_NIC_EXCLUDE = (
    "lo",
    "lo0",
    "loopback*",
    "docker*",
    "veth*",
    "br-*",
    "virbr*",
    "ifb*",
    "isatap*",
    "teredo*",
)
# Filesystems that are not a fixed volume of the PC.
_PSEUDO_FS = frozenset(
    {
        "",
        "autofs",
        "cgroup",
        "cgroup2",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fuse.gvfsd-fuse",
        "fuse.portal",
        "fuse.snapfuse",
        "iso9660",
        "nsfs",
        "overlay",
        "proc",
        "ramfs",
        "securityfs",
        "squashfs",
        "sysfs",
        "tmpfs",
        "tracefs",
        "udf",
    }
)
# Block devices that are not physical disks (Linux names).
_VIRTUAL_DISK = re.compile(r"^(loop|ram|zram|fd|sr)\d*$")
_WINDOWS_DRIVE = re.compile(r"^([A-Za-z]):\\?$")
# Placeholders firmware vendors leave in the serial number field.
_SERIAL_PLACEHOLDERS = frozenset(
    {
        "",
        "0",
        "00000000",
        "default string",
        "none",
        "not applicable",
        "not specified",
        "o.e.m.",
        "system serial number",
        "to be filled by o.e.m.",
    }
)
# Where the smartmontools Windows installer puts smartctl when it is not on the service's PATH.
_WINDOWS_SMARTCTL = r"C:\Program Files\smartmontools\bin\smartctl.exe"
# SMART ATA attribute ids (https://www.smartmontools.org/wiki/Attributes_Description is not
# authoritative; these three are the ones every vendor implements the same way).
_ATA_REALLOCATED = 5
_ATA_PENDING = 197
_ATA_OFFLINE_UNCORRECTABLE = 198


class HostConfig(CheckConfig):
    """Settings of the ``host`` check; every default suits a 4 GB Windows 10 counter PC."""

    device_id: DeviceId | None = Field(
        default=None, description="The PC's device id; default: its host name"
    )
    per_core: bool = Field(default=True, description="Emit per-core CPU percentages")
    cpu_first_window_seconds: float = Field(
        default=0.2,
        ge=0,
        le=2,
        description="At the first collection, measure CPU over this window (0: from the 2nd on)",
    )
    nic_exclude: tuple[str, ...] = Field(
        default=DEFAULT_NIC_EXCLUDE, description="Interface name patterns to ignore (fnmatch)"
    )
    memory_short_percent: float = Field(
        default=90.0, gt=0, le=100, description="Memory use at which top processes are reported"
    )
    memory_event_repeat_seconds: float = Field(
        default=900.0, ge=0, description="While memory stays short, repeat the event this often"
    )
    top_processes: int = Field(default=5, ge=1, le=10, description="Process names in the event")
    smartctl_path: str | None = Field(
        default="smartctl", description="smartctl program or path; null turns SMART off"
    )
    smart_interval_seconds: float = Field(default=3600.0, ge=60, le=7 * 86_400)
    smartctl_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    recent_boot_seconds: float = Field(
        default=900.0,
        ge=0,
        description="With no earlier boot time known, an uptime below this counts as a reboot",
    )
    reboot_tolerance_seconds: float = Field(
        default=120.0, ge=1, description="Boot time moves smaller than this are clock noise"
    )


class SmartctlError(CheckError):
    """smartctl could not be run or its output is unusable."""

    def __init__(self, reason: str, device: str | None = None) -> None:
        super().__init__(f"{device}: {reason}" if device else reason)
        self.reason = reason
        self.device = device


class _Partition(Protocol):
    """The fields of psutil's ``sdiskpart`` that volume selection reads."""

    @property
    def device(self) -> str: ...
    @property
    def mountpoint(self) -> str: ...
    @property
    def fstype(self) -> str: ...
    @property
    def opts(self) -> str: ...


# --------------------------------------------------------------------------- pure helpers


def counter_rate(previous: float, current: float, elapsed: float) -> float | None:
    """Per-second rate of an increasing counter; None across a reset or without elapsed time."""
    if elapsed <= 0 or current < previous:
        return None
    return (current - previous) / elapsed


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def cpu_percentages(
    before: Mapping[str, float], after: Mapping[str, float]
) -> dict[str, float] | None:
    """Busy, iowait and steal percentages between two ``cpu_times`` readings (None: no data).

    Same arithmetic as psutil's ``cpu_percent``: Linux counts guest time inside user and nice, so
    it is taken out of the total; idle includes iowait.
    """
    deltas = {key: after[key] - before.get(key, 0.0) for key in after}
    if any(delta < 0 for delta in deltas.values()):
        return None  # CPU went offline/online or counters reset
    total = sum(deltas.values()) - deltas.get("guest", 0.0) - deltas.get("guest_nice", 0.0)
    if total <= 0:
        return None
    idle = deltas.get("idle", 0.0) + deltas.get("iowait", 0.0)
    result = {"busy": _clamp(100.0 * (total - idle) / total, 0.0, 100.0)}
    for key in ("iowait", "steal"):
        if key in deltas:
            result[key] = _clamp(100.0 * deltas[key] / total, 0.0, 100.0)
    return result


def volume_label(mountpoint: str) -> str:
    """The ``volume`` label of a mount point: ``C:`` for ``C:\\``, the path elsewhere."""
    match = _WINDOWS_DRIVE.match(mountpoint)
    return f"{match.group(1).upper()}:" if match else mountpoint


def fixed_volumes(
    partitions: Iterable[_Partition],
    *,
    windows: bool = sys.platform == "win32",
    is_removable: Callable[[str], bool] | None = None,
) -> list[tuple[str, str]]:
    """``(device, mountpoint)`` of fixed volumes: no pseudo, optical, removable or network ones.

    Each device counts once (bind mounts and containers show one device at several places).
    """
    removable = is_removable or _linux_removable
    seen: set[str] = set()
    volumes: list[tuple[str, str]] = []
    for part in partitions:
        if windows:
            # psutil puts the GetDriveType answer in opts: fixed, removable, cdrom, remote, ramdisk.
            if "fixed" not in part.opts.split(","):
                continue
        elif (
            part.fstype.lower() in _PSEUDO_FS
            or part.mountpoint.startswith("/snap/")
            or removable(part.device)
        ):
            continue
        if part.device in seen:
            continue
        seen.add(part.device)
        volumes.append((part.device, part.mountpoint))
    return volumes


def _linux_removable(device: str) -> bool:
    """True for a USB stick or card reader (``removable`` of the block device or its parent)."""
    name = os.path.basename(device)
    base = Path("/sys/class/block") / name
    try:
        for candidate in (base / "removable", base.resolve().parent / "removable"):
            if candidate.is_file():
                return candidate.read_text().strip() == "1"
    except OSError:
        return False
    return False


def _is_physical_disk(name: str) -> bool:
    """Whole physical disks only: partitions and loop/zram/device-mapper devices double-count."""
    if _VIRTUAL_DISK.match(name):
        return False
    sys_block = Path("/sys/block")
    if sys_block.is_dir():
        return (sys_block / name / "device").exists()
    return True  # Windows (PhysicalDriveN) and others: psutil already lists whole disks


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    lowered = name.casefold()
    return any(fnmatch(lowered, pattern.casefold()) for pattern in patterns)


def parse_smbios_system_info(data: bytes, *, header: int = 8) -> dict[str, str]:
    """Manufacturer, product and serial from raw SMBIOS tables (structure type 1).

    Windows keeps the raw tables in the registry with an 8-byte ``RawSMBIOSData`` header;
    ``/sys/firmware/dmi/tables/DMI`` on Linux has none (``header=0``). Reading them is the cheap
    way to a serial number: no WMI, no PowerShell, no wmic (removed from Windows 11 24H2).
    """
    offset = header
    while offset + 4 <= len(data):
        kind, length = data[offset], data[offset + 1]
        if length < 4:
            break
        strings_at = offset + length
        end = data.find(b"\x00\x00", strings_at)
        if end < 0:
            break
        if kind == 1 and length >= 8:
            strings = data[strings_at:end].split(b"\x00")
            found = {
                fact: _smbios_string(strings, data[offset + field_offset])
                for fact, field_offset in (("vendor", 0x04), ("model", 0x05), ("serial", 0x07))
            }
            if found["serial"].casefold() in _SERIAL_PLACEHOLDERS:
                found["serial"] = ""
            return {key: value for key, value in found.items() if value}
        if kind == 127:  # end-of-table
            break
        offset = end + 2
    return {}


def _smbios_string(strings: list[bytes], index: int) -> str:
    # SMBIOS string fields are 1-based indexes into the strings after the structure; 0 = none.
    if index == 0 or index > len(strings):
        return ""
    return strings[index - 1].decode("ascii", errors="replace").strip()


@dataclass(frozen=True, slots=True)
class SmartDisk:
    """What one ``smartctl -j -H -A -i`` answer says about a disk."""

    name: str
    model: str | None = None
    serial: str | None = None
    passed: bool | None = None
    reallocated: int | None = None
    pending: int | None = None
    offline_uncorrectable: int | None = None
    power_on_hours: int | None = None
    temperature: float | None = None
    media_errors: int | None = None
    wear_percent: float | None = None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_smartctl_device(doc: Mapping[str, Any], name: str) -> SmartDisk:
    """A ``SmartDisk`` from the JSON of ``smartctl -j -H -A -i`` for ATA, NVMe or SCSI disks."""
    status = doc.get("smart_status")
    passed = status.get("passed") if isinstance(status, Mapping) else None
    attributes: dict[int, int] = {}
    table = doc.get("ata_smart_attributes", {}).get("table", [])
    for row in table if isinstance(table, list) else []:
        raw = row.get("raw", {}) if isinstance(row, Mapping) else {}
        attr_id, raw_value = row.get("id"), raw.get("value") if isinstance(raw, Mapping) else None
        if isinstance(attr_id, int) and isinstance(raw_value, int):
            # Vendors pack extra counters into the high bytes of some raw values; the low 32 bits
            # are the sector count for these three attributes.
            attributes[attr_id] = raw_value & 0xFFFFFFFF
    nvme = doc.get("nvme_smart_health_information_log")
    nvme = nvme if isinstance(nvme, Mapping) else {}
    temperature = doc.get("temperature", {})
    power_on = doc.get("power_on_time", {})
    reallocated = attributes.get(_ATA_REALLOCATED)
    if reallocated is None:
        reallocated = _int_or_none(doc.get("scsi_grown_defect_list"))
    wear = nvme.get("percentage_used")
    return SmartDisk(
        name=name,
        model=doc.get("model_name") or doc.get("scsi_model_name"),
        serial=doc.get("serial_number"),
        passed=passed if isinstance(passed, bool) else None,
        reallocated=reallocated,
        pending=attributes.get(_ATA_PENDING),
        offline_uncorrectable=attributes.get(_ATA_OFFLINE_UNCORRECTABLE),
        power_on_hours=_int_or_none(power_on.get("hours"))
        if isinstance(power_on, Mapping)
        else None,
        temperature=float(temperature["current"])
        if isinstance(temperature, Mapping) and isinstance(temperature.get("current"), int)
        else None,
        media_errors=_int_or_none(nvme.get("media_errors")),
        wear_percent=float(wear) if isinstance(wear, int | float) else None,
    )


# --------------------------------------------------------------------------- snapshot


@dataclass(slots=True)
class _Counters:
    """Monotonic OS counters that turn into rates between two collections."""

    cpu: dict[str, float]
    cores: list[dict[str, float]]
    disks: dict[str, dict[str, float]]
    nics: dict[str, dict[str, float]]


@dataclass(slots=True)
class _Snapshot:
    """Everything one collection reads from the OS, taken in one worker thread."""

    counters: _Counters
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


def _read_counters(per_core: bool, nic_exclude: Sequence[str]) -> _Counters:
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
        if _is_physical_disk(name):
            disks[name] = dict(io._asdict())
    nics: dict[str, dict[str, float]] = {}
    try:
        per_nic = psutil.net_io_counters(pernic=True)
    except (OSError, RuntimeError) as exc:
        log.debug("network counters unavailable", extra={"error": str(exc)})
        per_nic = {}
    for name, nic_io in per_nic.items():
        if not _excluded(name, nic_exclude):
            nics[name] = dict(nic_io._asdict())
    return _Counters(cpu=cpu, cores=cores, disks=disks, nics=nics)


# --------------------------------------------------------------------------- facts


def _os_description() -> str:
    system = platform.system()
    if sys.platform == "win32":
        version = platform.version()  # e.g. 10.0.22631
        parts = version.split(".")
        build = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
        # Python 3.11 reports release "10" on Windows 11; build 22000 is Windows 11's first.
        name = "Windows 11" if build >= 22_000 else f"Windows {platform.release()}"
        edition = platform.win32_edition() or ""
        return " ".join(p for p in (name, edition, version) if p)
    if sys.platform.startswith("linux"):
        try:
            pretty = platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
        except OSError:
            pretty = "Linux"
        return f"{pretty} (kernel {platform.release()})"
    return f"{system} {platform.release()}".strip()


def _cpu_model() -> str:
    if sys.platform == "win32":
        import winreg

        with contextlib.suppress(OSError):
            key = winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
            )
            with key:
                value, _ = winreg.QueryValueEx(key, "ProcessorNameString")
                return str(value).strip()
    elif sys.platform.startswith("linux"):
        with (
            contextlib.suppress(OSError),
            open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo,
        ):
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in {"model name", "Hardware", "Model"} and value.strip():
                    return value.strip()
    return platform.processor() or platform.machine()


def _machine_identity() -> dict[str, str]:
    """Vendor, model and serial number of the PC, where the OS gives them without admin tools."""
    if sys.platform == "win32":
        import winreg

        with contextlib.suppress(OSError):
            key = winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Services\mssmbios\Data"
            )
            with key:
                value, _ = winreg.QueryValueEx(key, "SMBiosData")
                if isinstance(value, bytes):
                    return parse_smbios_system_info(value, header=8)
        return {}
    found: dict[str, str] = {}
    dmi = Path("/sys/class/dmi/id")
    for fact, file_name in (
        ("vendor", "sys_vendor"),
        ("model", "product_name"),
        ("serial", "product_serial"),  # readable by root only
    ):
        with contextlib.suppress(OSError):
            value = (dmi / file_name).read_text(errors="replace").strip()
            if value and value.casefold() not in _SERIAL_PLACEHOLDERS:
                found[fact] = value
    return found


def _addresses(nic_exclude: Sequence[str]) -> tuple[list[str], list[str]]:
    macs: set[str] = set()
    ips: set[str] = set()
    try:
        per_nic = psutil.net_if_addrs()
    except OSError:
        return [], []
    for name, addrs in per_nic.items():
        if _excluded(name, nic_exclude):
            continue
        for addr in addrs:
            if addr.family == psutil.AF_LINK:
                mac = addr.address.replace("-", ":").lower()
                if mac and mac.strip("0:"):
                    macs.add(mac)
            elif addr.family == socket.AF_INET and not addr.address.startswith("127."):
                ips.add(addr.address)
    return sorted(macs), sorted(ips)


# --------------------------------------------------------------------------- SMART


class SmartMonitor:
    """Runs smartctl now and then; says once if it is missing or cannot read a disk."""

    def __init__(self, config: HostConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._next_at: float | None = None
        self._reported: set[str] = set()  # reasons already told, so nothing repeats

    def _resolve(self) -> str | None:
        path = self._config.smartctl_path
        if path is None:
            return None
        found = shutil.which(path)
        if found is None and sys.platform == "win32" and os.path.isfile(_WINDOWS_SMARTCTL):
            found = _WINDOWS_SMARTCTL
        return found

    def _run(self, args: list[str]) -> dict[str, Any]:
        try:
            done = subprocess.run(
                args,
                capture_output=True,
                timeout=self._config.smartctl_timeout_seconds,
                check=False,
                creationflags=hidden_window_flags(),
            )
        except subprocess.TimeoutExpired:
            raise SmartctlError("smartctl timed out") from None
        except OSError as exc:
            raise SmartctlError(f"smartctl could not run: {exc}") from None
        try:
            doc = json.loads(done.stdout.decode("utf-8", errors="replace"))
        except ValueError:
            raise SmartctlError(f"smartctl printed no JSON (exit {done.returncode})") from None
        if not isinstance(doc, dict):
            raise SmartctlError("smartctl JSON is not an object")
        return doc

    def _read_all(self, exe: str) -> list[SmartDisk | SmartctlError]:
        scan = self._run([exe, "-j", "--scan"])
        devices = scan.get("devices")
        if not isinstance(devices, list) or not devices:
            raise SmartctlError("smartctl found no disks")
        results: list[SmartDisk | SmartctlError] = []
        for device in devices:
            if not isinstance(device, Mapping) or not isinstance(device.get("name"), str):
                continue
            name = device["name"]
            args = [exe, "-j", "-H", "-A", "-i"]
            if isinstance(device.get("type"), str):
                args += ["-d", device["type"]]
            try:
                doc = self._run([*args, name])
            except SmartctlError as exc:
                results.append(SmartctlError(exc.reason, name))
                continue
            exit_status = doc.get("smartctl", {}).get("exit_status", 0)
            # Bits 0-1 of smartctl's exit status: bad command line, or the device could not be
            # opened (typically not admin/root). Nothing else in the answer is then usable.
            if isinstance(exit_status, int) and exit_status & 0b11:
                messages = doc.get("smartctl", {}).get("messages") or [{}]
                reason = str(messages[0].get("string", f"exit status {exit_status}"))
                results.append(SmartctlError(reason, name))
                continue
            results.append(parse_smartctl_device(doc, name))
        return results

    def _once(self, key: str) -> bool:
        if key in self._reported:
            return False
        self._reported.add(key)
        return True

    async def poll(self) -> tuple[list[Sample], list[Event]]:
        """SMART samples and events when the interval has passed, else nothing."""
        if self._config.smartctl_path is None:
            return [], []
        now = self._clock.monotonic()
        if self._next_at is not None and now < self._next_at:
            return [], []
        self._next_at = now + self._config.smart_interval_seconds
        exe = self._resolve()
        if exe is None:
            missing: list[Event] = []
            if self._once("missing"):
                missing.append(
                    Event(
                        type="smartctl_missing",
                        severity=Severity.INFO,
                        message=(
                            f"smartctl ({self._config.smartctl_path}) is not installed: "
                            "disk health (SMART) is not monitored on this PC"
                        ),
                        attrs={"smartctl_path": self._config.smartctl_path},
                    )
                )
            return [], missing
        try:
            results = await asyncio.to_thread(self._read_all, exe)
        except SmartctlError as exc:
            return [], self._unavailable(exc)
        samples: list[Sample] = []
        events: list[Event] = []
        for result in results:
            if isinstance(result, SmartctlError):
                events += self._unavailable(result)
            else:
                samples += _smart_samples(result)
                if result.passed is False:
                    events.append(
                        Event(
                            type="smart_failing",
                            severity=Severity.CRITICAL,
                            message=f"disk {result.name} fails its SMART health self-assessment",
                            attrs={
                                "disk": result.name,
                                "model": result.model or "",
                                "serial": result.serial or "",
                            },
                        )
                    )
        return samples, events

    def _unavailable(self, error: SmartctlError) -> list[Event]:
        if not self._once(f"{error.device}:{error.reason}"):
            return []
        attrs = {"reason": error.reason[:200]}
        if error.device:
            attrs["disk"] = error.device
        return [
            Event(
                type="smart_unavailable",
                severity=Severity.INFO,
                message=f"SMART data unavailable: {error}",
                attrs=attrs,
            )
        ]


def _smart_samples(disk: SmartDisk) -> list[Sample]:
    labels = {"disk": disk.name}
    values: list[tuple[str, float | None]] = [
        ("smart_healthy", None if disk.passed is None else float(disk.passed)),
        ("smart_reallocated_sectors", _as_float(disk.reallocated)),
        ("smart_pending_sectors", _as_float(disk.pending)),
        ("smart_offline_uncorrectable_sectors", _as_float(disk.offline_uncorrectable)),
        ("smart_power_on_hours", _as_float(disk.power_on_hours)),
        ("smart_temperature_celsius", disk.temperature),
        ("smart_media_errors", _as_float(disk.media_errors)),
        ("smart_wear_percent", disk.wear_percent),
    ]
    return [Sample(name=n, value=v, labels=labels) for n, v in values if v is not None]


def _as_float(value: int | None) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- the check


class HostCheck:
    """The ``host`` check: the PC's own health, as one ``pc`` device report per collection."""

    name: ClassVar[str] = "host"
    config_model: ClassVar[type[CheckConfig]] = HostConfig

    def __init__(
        self,
        config: HostConfig | None = None,
        *,
        clock: Clock | None = None,
        state_path: Path | None = None,
        boot_time: Callable[[], float] | None = None,
    ) -> None:
        """``state_path``: a small JSON file remembering the boot time across agent restarts.

        ``boot_time`` replaces ``psutil.boot_time`` (tests inject reboots through it).
        """
        self.config = config or HostConfig()
        self._clock: Clock = clock or SystemClock()
        self._state_path = state_path
        self._boot_time = boot_time or psutil.boot_time
        self._device_id = pc_device_id(self.config.device_id)
        self._previous: _Counters | None = None
        self._previous_at = 0.0
        self._last_boot: float | None = None
        self._state_loaded = False
        self._memory_event_at: float | None = None
        self._static_facts: dict[str, str] | None = None
        self._smart = SmartMonitor(self.config, self._clock)

    # -- the OS side, run in a worker thread

    def _snapshot(self, first: bool) -> _Snapshot:
        cfg = self.config
        counters = _read_counters(cfg.per_core, cfg.nic_exclude)
        snap = _Snapshot(counters=counters)
        if first and cfg.cpu_first_window_seconds > 0:
            # A real measurement window (not a test wait): CPU needs two readings.
            time.sleep(cfg.cpu_first_window_seconds)
            later = _read_counters(cfg.per_core, cfg.nic_exclude)
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
        snap.boot_time = self._boot_time()
        with contextlib.suppress(OSError):
            snap.nic_stats = {
                name: stats
                for name, stats in psutil.net_if_stats().items()
                if not _excluded(name, cfg.nic_exclude)
            }
        if hasattr(psutil, "sensors_temperatures"):
            with contextlib.suppress(OSError, RuntimeError):
                snap.temperatures = psutil.sensors_temperatures()
        if hasattr(psutil, "sensors_battery"):
            with contextlib.suppress(OSError, RuntimeError):
                snap.battery = psutil.sensors_battery()
        return snap

    def _facts(self) -> dict[str, str]:
        if self._static_facts is None:
            memory = psutil.virtual_memory()
            static = {
                "os": _os_description(),
                "cpu_model": _cpu_model(),
                "cpu_cores_logical": str(psutil.cpu_count(logical=True) or 0),
                "cpu_cores_physical": str(psutil.cpu_count(logical=False) or 0),
                "ram_total_bytes": str(memory.total),
            }
            static.update(_machine_identity())
            self._static_facts = static
        macs, ips = _addresses(self.config.nic_exclude)
        facts = {"hostname": socket.gethostname(), **self._static_facts}
        if macs:
            facts["mac_addresses"] = ",".join(macs)
        if ips:
            facts["ip_addresses"] = ",".join(ips)
        return {key: value[:500] for key, value in facts.items()}

    # -- the asyncio side

    async def collect(self) -> list[DeviceReport]:
        """Measure the PC once; never raises for a measurement failure."""
        first = self._previous is None
        snap, facts = await asyncio.to_thread(self._snapshot_and_facts, first)
        now_mono = self._clock.monotonic()
        samples: list[Sample] = []
        events: list[Event] = []
        samples += self._cpu_samples(snap)
        samples += self._memory_samples(snap)
        samples += self._volume_samples(snap)
        samples += self._rate_samples(snap.counters, now_mono)
        samples += self._nic_state_samples(snap)
        samples += self._sensor_samples(snap)
        uptime_samples, reboot = await self._uptime(snap.boot_time)
        samples += uptime_samples
        if reboot is not None:
            events.append(reboot)
        memory_event = await self._memory_event(snap, now_mono)
        if memory_event is not None:
            events.append(memory_event)
        smart_samples, smart_events = await self._smart.poll()
        samples += smart_samples
        events += smart_events
        self._previous, self._previous_at = snap.counters, now_mono
        return [
            DeviceReport(
                device_id=self._device_id,
                kind=DeviceKind.PC,
                samples=samples,
                events=events,
                facts=facts,
            )
        ]

    def _snapshot_and_facts(self, first: bool) -> tuple[_Snapshot, dict[str, str]]:
        return self._snapshot(first), self._facts()

    def _cpu_samples(self, snap: _Snapshot) -> list[Sample]:
        if self._previous is not None:
            total = cpu_percentages(self._previous.cpu, snap.counters.cpu)
            cores = [
                cpu_percentages(a, b)
                for a, b in zip(self._previous.cores, snap.counters.cores, strict=False)
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

    def _memory_samples(self, snap: _Snapshot) -> list[Sample]:
        mem = snap.memory
        samples = [
            Sample(name="memory_total_bytes", value=float(mem.total)),
            Sample(name="memory_available_bytes", value=float(mem.available)),
            Sample(name="memory_used_bytes", value=float(max(0, mem.total - mem.available))),
            Sample(name="memory_used_percent", value=_clamp(float(mem.percent), 0.0, 100.0)),
        ]
        if snap.swap is not None:
            samples += [
                Sample(name="swap_total_bytes", value=float(snap.swap.total)),
                Sample(name="swap_used_bytes", value=float(snap.swap.used)),
                Sample(name="swap_used_percent", value=_clamp(float(snap.swap.percent), 0, 100)),
            ]
        return samples

    def _volume_samples(self, snap: _Snapshot) -> list[Sample]:
        samples: list[Sample] = []
        for mountpoint, usage in snap.volumes:
            labels = {"volume": volume_label(mountpoint)[:200]}
            samples += [
                Sample(name="disk_total_bytes", value=float(usage.total), labels=labels),
                Sample(name="disk_free_bytes", value=float(usage.free), labels=labels),
                Sample(
                    name="disk_used_percent",
                    value=_clamp(float(usage.percent), 0.0, 100.0),
                    labels=labels,
                ),
            ]
        return samples

    def _rate_samples(self, counters: _Counters, now: float) -> list[Sample]:
        previous = self._previous
        if previous is None:
            return []
        elapsed = now - self._previous_at
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
                        Sample(
                            name="disk_busy_ratio", value=_clamp(value / 1000, 0, 1), labels=busy
                        )
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

    def _nic_state_samples(self, snap: _Snapshot) -> list[Sample]:
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

    def _sensor_samples(self, snap: _Snapshot) -> list[Sample]:
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
                samples.append(Sample(name="battery_percent", value=_clamp(percent, 0, 100)))
            if battery.power_plugged is not None:
                samples.append(Sample(name="battery_plugged", value=float(battery.power_plugged)))
            # Negative values are psutil's POWER_TIME_UNKNOWN / POWER_TIME_UNLIMITED markers.
            if isinstance(battery.secsleft, int | float) and battery.secsleft >= 0:
                samples.append(
                    Sample(name="battery_time_left_seconds", value=float(battery.secsleft))
                )
        return samples

    async def _uptime(self, boot_time: float) -> tuple[list[Sample], Event | None]:
        now_wall = self._clock.now().timestamp()
        uptime = max(0.0, now_wall - boot_time)
        samples = [
            Sample(name="boot_time_seconds", value=boot_time),
            Sample(name="uptime_seconds", value=uptime),
        ]
        if not self._state_loaded:
            self._state_loaded = True
            self._last_boot = await asyncio.to_thread(self._load_state)
        previous = self._last_boot
        event: Event | None = None
        if previous is None:
            if uptime < self.config.recent_boot_seconds:
                event = _reboot_event(None, boot_time, uptime, "uptime")
        elif boot_time - previous > self.config.reboot_tolerance_seconds:
            event = _reboot_event(previous, boot_time, uptime, "boot_time")
        elif previous - boot_time > self.config.reboot_tolerance_seconds:
            # The wall clock was stepped back (an old PC's CMOS clock corrected by NTP): not a
            # reboot, but the reference must follow.
            log.info("boot time moved back", extra={"previous": previous, "boot_time": boot_time})
        else:
            return samples, None
        self._last_boot = boot_time
        await asyncio.to_thread(self._save_state, boot_time)
        return samples, event

    def _load_state(self) -> float | None:
        if self._state_path is None:
            return None
        try:
            data = json.loads(self._state_path.read_text(encoding="utf-8"))
            value = data.get("boot_time") if isinstance(data, dict) else None
            return float(value) if isinstance(value, int | float) else None
        except (OSError, ValueError):
            return None

    def _save_state(self, boot_time: float) -> None:
        if self._state_path is None:
            return
        try:
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"boot_time": boot_time}), encoding="utf-8")
            os.replace(tmp, self._state_path)
        except OSError as exc:
            log.warning(
                "cannot save host state", extra={"path": str(self._state_path), "error": str(exc)}
            )

    async def _memory_event(self, snap: _Snapshot, now: float) -> Event | None:
        cfg = self.config
        percent = float(snap.memory.percent)
        if percent < cfg.memory_short_percent:
            self._memory_event_at = None
            return None
        if (
            self._memory_event_at is not None
            and now - self._memory_event_at < cfg.memory_event_repeat_seconds
        ):
            return None
        self._memory_event_at = now
        top = await asyncio.to_thread(top_processes_by_memory, cfg.top_processes)
        attrs = {
            "used_percent": f"{percent:.1f}",
            "available_bytes": str(snap.memory.available),
        }
        for rank, group in enumerate(top, start=1):
            attrs[f"top{rank}_name"] = group.name[:100]
            attrs[f"top{rank}_rss_bytes"] = str(group.rss_bytes)
            attrs[f"top{rank}_processes"] = str(group.processes)
        names = ", ".join(f"{g.name} {g.rss_bytes / 2**20:.0f} MiB" for g in top)
        return Event(
            type="memory_short",
            severity=Severity.WARNING,
            message=f"memory {percent:.0f}% used; largest: {names}"[:2000],
            attrs=attrs,
        )


@dataclass(frozen=True, slots=True)
class ProcessGroup:
    """Resident memory of all processes of one name (a browser is dozens of processes)."""

    name: str
    rss_bytes: int
    processes: int


def top_processes_by_memory(limit: int) -> list[ProcessGroup]:
    """The ``limit`` process names using the most resident memory, summed over their processes."""
    totals: dict[str, list[int]] = {}
    for proc in psutil.process_iter(["name", "memory_info"], ad_value=None):
        info = proc.info
        memory = info.get("memory_info")
        if memory is None:  # access denied (protected Windows processes) or gone
            continue
        entry = totals.setdefault(info.get("name") or "?", [0, 0])
        entry[0] += int(memory.rss)
        entry[1] += 1
    ranked = sorted(totals.items(), key=lambda item: item[1][0], reverse=True)[:limit]
    return [
        ProcessGroup(name=name, rss_bytes=rss, processes=count) for name, (rss, count) in ranked
    ]


def _iso(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def _reboot_event(previous: float | None, boot_time: float, uptime: float, how: str) -> Event:
    attrs = {"boot_time": _iso(boot_time), "detected_by": how, "uptime_seconds": f"{uptime:.0f}"}
    if previous is not None:
        attrs["previous_boot_time"] = _iso(previous)
    return Event(
        type="host_rebooted",
        severity=Severity.INFO,
        message=f"the PC started at {attrs['boot_time']}",
        attrs=attrs,
    )


__all__ = [
    "HostCheck",
    "HostConfig",
    "ProcessGroup",
    "SmartDisk",
    "SmartMonitor",
    "SmartctlError",
    "counter_rate",
    "cpu_percentages",
    "fixed_volumes",
    "parse_smartctl_device",
    "parse_smbios_system_info",
    "top_processes_by_memory",
    "volume_label",
]
