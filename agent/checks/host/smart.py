"""Disk health through ``smartctl -j``: the JSON parser and the monitor that runs it now and then.

SMART attributes move slowly and querying wakes disks, so smartctl runs every
``smart_interval_seconds``; its samples appear only in the reports where they were measured.
No smartctl: one ``smartctl_missing`` event in the life of the check, then silence.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.checks.common import CheckError, hidden_window_flags
from agent.checks.host.config import HostConfig
from agent.clock import Clock
from agent.wire import Event, Sample, Severity

# Where the smartmontools Windows installer puts smartctl when it is not on the service's PATH.
_WINDOWS_SMARTCTL = r"C:\Program Files\smartmontools\bin\smartctl.exe"
# SMART ATA attribute ids (https://www.smartmontools.org/wiki/Attributes_Description is not
# authoritative; these three are the ones every vendor implements the same way).
_ATA_REALLOCATED = 5
_ATA_PENDING = 197
_ATA_OFFLINE_UNCORRECTABLE = 198


class SmartctlError(CheckError):
    """smartctl could not be run or its output is unusable."""

    def __init__(self, reason: str, device: str | None = None) -> None:
        super().__init__(f"{device}: {reason}" if device else reason)
        self.reason = reason
        self.device = device


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
