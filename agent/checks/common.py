"""Helpers shared by the PC agent's checks: the PC's device id, loopback rules, quiet subprocesses.

Exception tree of the PC checks (each carries the values that went wrong):

- ``CheckError``: base of every error a PC check raises internally
    - ``agent.checks.http_probe.ProbeError``: a probe failed (classified transport error)
    - ``agent.checks.ping.parser.PingError``
        - ``PingParseError``: ping printed something we do not understand
    - ``agent.checks.host.smart.SmartctlError``: smartctl could not be run or its output is unusable

None of them escapes ``collect``: a check turns them into samples and events at one boundary.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
import subprocess
import sys

# The wire's DeviceId pattern is [A-Za-z0-9._:@/-]+; anything else in a host name becomes '-'.
_DEVICE_ID_BAD = re.compile(r"[^A-Za-z0-9._:@/-]+")
# Names of targets, services and processes used in device ids and label values.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


class CheckError(Exception):
    """Base of the errors the PC checks raise internally (never out of ``collect``)."""


def pc_device_id(configured: str | None = None) -> str:
    """The PC's device id: the configured one, else its host name made safe for the wire."""
    if configured:
        return configured
    cleaned = _DEVICE_ID_BAD.sub("-", socket.gethostname()).strip("-")[:128]
    return cleaned or "pc"


def path_device_id(prefix: str, name: str, pc: str) -> str:
    """Device id of a measured path from this PC, e.g. ``probe:motcua@DESKTOP-01``.

    The collector keys device state by (commune, device id): every counter PC of a commune probes
    the same portal, so the PC must be part of the id or their reports would overwrite each other.
    """
    return f"{prefix}:{name}@{pc}"[:128]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1), the only local hosts."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_only(host: str, check: str) -> str:
    """``host`` if it is a loopback host, else a ValueError naming ``check``: the checks of
    services on this PC (signing bridges, local services) must never reach another machine."""
    if not is_loopback_host(host):
        raise ValueError(
            f"{host!r} is not a loopback host; {check} only checks this PC "
            "(localhost, 127.0.0.1, ::1)"
        )
    return host


def distinct_ports(ports: tuple[int, ...]) -> tuple[int, ...]:
    """``ports`` if each is a TCP port and none repeats, else a ValueError naming the port."""
    for port in ports:
        if not 1 <= port <= 65_535:
            raise ValueError(f"port {port} is not within 1..65535")
    if len(set(ports)) != len(ports):
        raise ValueError(f"ports {list(ports)} repeat a port")
    return ports


def header_safe(value: str | None) -> str | None:
    """``value`` if it can go into a request header line (printable, no spaces), else a
    ValueError: a path or origin from configuration must not inject headers."""
    if value is not None and (not value.isprintable() or " " in value):
        raise ValueError(f"{value!r} must be printable without spaces")
    return value


def hidden_window_flags() -> int:
    """Process creation flags that keep a console window from flashing on Windows (0 elsewhere)."""
    if sys.platform == "win32":
        return subprocess.CREATE_NO_WINDOW
    return 0


def finite_or_none(value: float | None) -> float | None:
    """``value`` if it is a finite number, else None (the wire rejects NaN and infinities)."""
    if value is None or not math.isfinite(value):
        return None
    return value
