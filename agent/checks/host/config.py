"""Settings of the ``host`` check, and the interface filter every part of it applies."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatch

from pydantic import Field

from agent.checks.base import CheckConfig
from agent.wire import DeviceId

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


def nic_excluded(name: str, patterns: Sequence[str]) -> bool:
    """True when interface ``name`` matches one of the ``nic_exclude`` patterns (any case)."""
    lowered = name.casefold()
    return any(fnmatch(lowered, pattern.casefold()) for pattern in patterns)
