"""What ``ping`` needs from the system: its command line per platform, the gateway, the DNS server.

Targets may use ``@gateway`` (the default IPv4 gateway) and ``@dns`` (the first configured DNS
server) instead of an address, since the central configuration cannot know each PC's network.
Linux reads ``/proc/net/route`` and ``/etc/resolv.conf``; Windows asks the IP helper API through
ctypes (``GetBestRoute``, ``GetNetworkParams``): no PowerShell, no WMI.
"""

from __future__ import annotations

import contextlib
import math
import socket
import sys
from pathlib import Path


def ping_command(
    binary: str, address: str, count: int, interval: float, timeout: float, platform: str
) -> list[str]:
    """The argument list of one ping run for ``platform`` (``sys.platform`` values)."""
    if platform == "win32":
        # Windows ping has no interval option (always 1 s); -w is per-reply timeout in ms.
        return [binary, "-n", str(count), "-w", str(max(1, int(timeout * 1000))), address]
    wait = str(max(1, math.ceil(timeout)))
    if platform == "darwin":
        return [
            binary,
            "-n",
            "-c",
            str(count),
            "-i",
            f"{interval:g}",
            "-W",
            str(int(timeout * 1000)),
            address,
        ]
    deadline = str(math.ceil(count * interval + timeout))
    return [
        binary,
        "-n",
        "-c",
        str(count),
        "-i",
        f"{interval:g}",
        "-W",
        wait,
        "-w",
        deadline,
        address,
    ]


def default_gateway() -> str | None:
    """The default IPv4 gateway of this PC, or None."""
    if sys.platform == "win32":
        return _windows_gateway()
    with contextlib.suppress(OSError, ValueError):
        # /proc/net/route: Iface Destination Gateway Flags ... in little-endian hex.
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[1] == "00000000" and int(fields[3], 16) & 0x2:
                return socket.inet_ntoa(int(fields[2], 16).to_bytes(4, "little"))
    return None


def default_dns_server() -> str | None:
    """The first DNS server this PC uses, or None."""
    if sys.platform == "win32":
        return _windows_dns()
    with contextlib.suppress(OSError):
        for line in Path("/etc/resolv.conf").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == "nameserver":
                return fields[1]
    return None


if sys.platform == "win32":  # pragma: no cover - Windows only (tests run on Linux)
    import ctypes
    from ctypes import wintypes

    class _ForwardRow(ctypes.Structure):
        _fields_ = [
            (name, wintypes.DWORD)
            for name in (
                "dest",
                "mask",
                "policy",
                "next_hop",
                "if_index",
                "type",
                "proto",
                "age",
                "next_hop_as",
                "metric1",
                "metric2",
                "metric3",
                "metric4",
                "metric5",
            )
        ]

    class _IpAddrString(ctypes.Structure):
        pass

    _IpAddrString._fields_ = [
        ("next", ctypes.POINTER(_IpAddrString)),
        ("address", ctypes.c_char * 16),
        ("mask", ctypes.c_char * 16),
        ("context", wintypes.DWORD),
    ]

    class _FixedInfo(ctypes.Structure):
        _fields_ = [
            ("host_name", ctypes.c_char * 132),
            ("domain_name", ctypes.c_char * 132),
            ("current_dns", ctypes.POINTER(_IpAddrString)),
            ("dns_list", _IpAddrString),
        ]

    def _windows_gateway() -> str | None:
        # GetBestRoute to a public address gives the next hop of the default route.
        row = _ForwardRow()
        dest = int.from_bytes(socket.inet_aton("8.8.8.8"), "little")
        if ctypes.windll.iphlpapi.GetBestRoute(dest, 0, ctypes.byref(row)) != 0:
            return None
        hop = socket.inet_ntoa(int(row.next_hop).to_bytes(4, "little"))
        return None if hop == "0.0.0.0" else hop  # noqa: S104 - a value, not a bind address

    def _windows_dns() -> str | None:
        size = wintypes.ULONG(0)
        ctypes.windll.iphlpapi.GetNetworkParams(None, ctypes.byref(size))
        buffer = ctypes.create_string_buffer(size.value)
        if ctypes.windll.iphlpapi.GetNetworkParams(buffer, ctypes.byref(size)) != 0:
            return None
        info = ctypes.cast(buffer, ctypes.POINTER(_FixedInfo)).contents
        address = info.dns_list.address.decode("ascii", errors="replace").strip("\x00 ")
        return address or None
