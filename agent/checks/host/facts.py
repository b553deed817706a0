"""Facts of the PC: CPU model, vendor, model and serial number, addresses, host name.

Read where the OS gives them without admin tools (registry, /proc, /sys); the operating system's
own facts are in ``agent.checks.host.osinfo``.
"""

from __future__ import annotations

import contextlib
import platform
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import psutil

from agent.checks.host.config import nic_excluded
from agent.checks.host.osinfo import os_facts
from agent.checks.host.smbios import SERIAL_PLACEHOLDERS, parse_smbios_system_info

# Fact values are bounded: an odd firmware string must not make a report invalid.
FACT_MAX_CHARS = 500


def static_facts() -> dict[str, str]:
    """Facts that do not change while the agent runs: OS, CPU, memory, machine identity."""
    memory = psutil.virtual_memory()
    static = {
        **os_facts(),
        "cpu_model": cpu_model(),
        "cpu_cores_logical": str(psutil.cpu_count(logical=True) or 0),
        "cpu_cores_physical": str(psutil.cpu_count(logical=False) or 0),
        "ram_total_bytes": str(memory.total),
    }
    static.update(machine_identity())
    return static


def current_facts(static: dict[str, str], nic_exclude: Sequence[str]) -> dict[str, str]:
    """The static facts plus what may change: host name, MAC and IP addresses."""
    macs, ips = addresses(nic_exclude)
    facts = {"hostname": socket.gethostname(), **static}
    if macs:
        facts["mac_addresses"] = ",".join(macs)
    if ips:
        facts["ip_addresses"] = ",".join(ips)
    return {key: value[:FACT_MAX_CHARS] for key, value in facts.items()}


def cpu_model() -> str:
    """The processor's marketing name."""
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


def machine_identity() -> dict[str, str]:
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
            if value and value.casefold() not in SERIAL_PLACEHOLDERS:
                found[fact] = value
    return found


def addresses(nic_exclude: Sequence[str]) -> tuple[list[str], list[str]]:
    """Sorted MAC and IPv4 addresses of the PC's interfaces (excluded interfaces left out)."""
    macs: set[str] = set()
    ips: set[str] = set()
    try:
        per_nic = psutil.net_if_addrs()
    except OSError:
        return [], []
    for name, addrs in per_nic.items():
        if nic_excluded(name, nic_exclude):
            continue
        for addr in addrs:
            if addr.family == psutil.AF_LINK:
                mac = addr.address.replace("-", ":").lower()
                if mac and mac.strip("0:"):
                    macs.add(mac)
            elif addr.family == socket.AF_INET and not addr.address.startswith("127."):
                ips.add(addr.address)
    return sorted(macs), sorted(ips)
