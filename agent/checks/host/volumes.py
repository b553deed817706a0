"""Which volumes and disks of the PC count: fixed volumes only, whole physical disks only."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

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


def is_physical_disk(name: str, sys_block: Path = Path("/sys/block")) -> bool:
    """Whole physical disks only: partitions and loop/zram/device-mapper devices double-count."""
    if _VIRTUAL_DISK.match(name):
        return False
    if sys_block.is_dir():
        return (sys_block / name / "device").exists()
    return True  # Windows (PhysicalDriveN) and others: psutil already lists whole disks
