"""Round-trip time, loss and jitter to the gateway, the DNS server and provincial addresses.

**Method: the system ``ping`` program**, not an unprivileged ICMP socket, because:

- Windows (most counter PCs) has no unprivileged ICMP socket at all (raw sockets need admin; the
  alternative is ctypes around ``IcmpSendEcho``), while ``ping.exe`` is on every Windows;
- on Linux, ``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`` works only where the
  ``net.ipv4.ping_group_range`` sysctl admits the agent's group; Debian's default ("1 0") admits
  nobody, whereas iputils ``ping`` is installed with the capability it needs;
- ``ping`` keeps the agent free of privileges and of a packet parser of our own.

The parser does not trust the summary lines, which Windows localises (and which count
"Destination host unreachable" as a reply): it reads one line per reply, recognised by ``ttl=``
(language-independent; Windows IPv6 replies have none and are told from the indented summary by
their single time) and a time ``time=12ms`` / ``time<1ms`` / ``time=0.840 ms`` (any word before
``=``), and computes min/avg/max, loss and jitter itself, the same way on every platform. Windows
resolution is 1 ms and ``<1ms`` counts as 1 ms (an upper bound, as telegraf does). Jitter is the
mean absolute difference between consecutive RTTs (RFC 3550's idea, without its smoothing); it
differs from iputils' ``mdev`` (a standard deviation). Linux runs with ``LC_ALL=C`` so decimals
are written with a point.

**Fallback: TCP connect "ping"** when no ping program exists (or ``method: tcp``): connect times to
``tcp_port``, labelled ``method="tcp"``. A refused connection is an answer (the host replied with a
reset), a timeout is a loss. Windows retries a SYN answered by a reset, so point it at an open port
(443 of the portal, 53 of the DNS server).

Targets may use ``@gateway`` (the default IPv4 gateway) and ``@dns`` (the first configured DNS
server) instead of an address, since the central configuration cannot know each PC's network.

Each target is one ``DeviceReport`` of kind ``link`` (``ping:<name>@<pc>``): loss or delay
belongs to the path from this PC to the target, labelled ``target``, ``address`` and ``method``.
The PC is part of the id because the collector keys device state by (commune, device id).
"""

from __future__ import annotations

import asyncio
import contextlib
import locale
import logging
import math
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.checks.base import CheckConfig, Clock, SystemClock
from agent.checks.common import (
    NAME_PATTERN,
    CheckError,
    hidden_window_flags,
    path_device_id,
    pc_device_id,
)
from agent.wire import DeviceId, DeviceKind, DeviceReport, Event, Sample, Severity

log = logging.getLogger(__name__)

GATEWAY = "@gateway"
DNS = "@dns"
# A host name or an IP literal; never starting with '-', which ping would read as an option.
_ADDRESS = re.compile(r"^(@gateway|@dns|[A-Za-z0-9][A-Za-z0-9.:%_-]{0,252})$")
# One reply: "ttl=" and a time such as "time=0.840 ms", "time<1ms", "thời gian=20ms".
_TTL = re.compile(r"\bttl[=:]\s*\d{1,3}\b", re.IGNORECASE)
_TIME = re.compile(r"[=<]\s*(\d{1,7}(?:[.,]\d{1,6})?)\s*ms\b", re.IGNORECASE)
# Summaries: iputils/busybox "5 packets transmitted", Windows "Sent = 4, Received = 4, Lost = 0"
# in any language (three "= n" counts on one line).
_LINUX_SENT = re.compile(r"(\d{1,9}) packets transmitted")
_WINDOWS_SENT = re.compile(r"=\s*(\d{1,9}),[^=\n]*=\s*(\d{1,9}),[^=\n]*=\s*(\d{1,9})")
_DNS_FAILURES = (
    "name or service not known",
    "temporary failure in name resolution",
    "could not find host",
    "unknown host",
    "cannot resolve",
    "no address associated",
)
_UNREACHABLE = ("network is unreachable", "general failure", "transmit failed", "no route")


class PingError(CheckError):
    """A ping target could not be measured."""


class PingParseError(PingError):
    """``ping`` printed nothing we recognise as replies or a summary."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output[:500]


@dataclass(frozen=True, slots=True)
class PingResult:
    """Replies to ``transmitted`` echoes: the RTT of each answered one, in seconds, in order."""

    transmitted: int
    rtts: tuple[float, ...]

    @property
    def received(self) -> int:
        """Number of answered echoes."""
        return len(self.rtts)

    @property
    def loss_ratio(self) -> float:
        """Share of echoes without an answer, 0 to 1."""
        if self.transmitted <= 0:
            return 1.0
        return min(1.0, max(0.0, 1.0 - self.received / self.transmitted))

    @property
    def jitter(self) -> float | None:
        """Mean absolute difference of consecutive RTTs (None with fewer than two replies)."""
        if len(self.rtts) < 2:
            return None
        return statistics.fmean(abs(b - a) for a, b in zip(self.rtts, self.rtts[1:], strict=False))


def parse_ping_output(output: str) -> PingResult:
    """Replies and echo count from the output of Linux iputils, busybox or Windows ``ping``.

    Raises ``PingParseError`` (and nothing else) when the output has neither a reply nor a summary.
    """
    rtts: list[float] = []
    transmitted: int | None = None
    for line in output.splitlines():
        if "DUP!" in line:
            continue  # a duplicate reply to an echo already counted
        times = _TIME.findall(line)
        # A reply has a TTL, except Windows IPv6 replies ("Reply from ::1: time<1ms"); those are
        # told from the indented "Minimum = 0ms, Maximum = 0ms, ..." summary by their one time.
        if times and (_TTL.search(line) or (len(times) == 1 and not line[:1].isspace())):
            value = float(times[0].replace(",", ".")) / 1000.0
            if math.isfinite(value):
                rtts.append(value)
            continue
        if transmitted is None:
            sent = _LINUX_SENT.search(line) or _WINDOWS_SENT.search(line)
            if sent:
                transmitted = int(sent.group(1))
    if transmitted is None and not rtts:
        first = next((ln.strip() for ln in output.splitlines() if ln.strip()), "")
        raise PingParseError(f"no replies or summary in ping output: {first[:200]!r}", output)
    count = max(transmitted or 0, len(rtts))
    if count == 0:
        raise PingParseError("ping sent no echo", output)
    return PingResult(transmitted=count, rtts=tuple(rtts))


def classify_ping_failure(output: str) -> str:
    """``dns``, ``unreachable`` or ``error`` from what ping printed when it measured nothing."""
    lowered = output.lower()
    if any(text in lowered for text in _DNS_FAILURES):
        return "dns"
    if any(text in lowered for text in _UNREACHABLE):
        return "unreachable"
    return "error"


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


class PingTarget(BaseModel):
    """One address to ping."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Short name, e.g. 'gateway', 'tslcd'")
    address: str = Field(description="Host name, IP address, @gateway or @dns")
    method: Literal["auto", "icmp", "tcp"] = Field(
        default="auto", description="auto: ping if installed, else TCP connect to tcp_port"
    )
    tcp_port: int | None = Field(default=None, ge=1, le=65_535, description="For TCP connects")
    device_id: DeviceId | None = Field(default=None, description="Default: ping:<name>@<pc>")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not a host name, an IP address, {GATEWAY} or {DNS}")
        return value

    @model_validator(mode="after")
    def _tcp_needs_port(self) -> PingTarget:
        if self.method == "tcp" and self.tcp_port is None:
            raise ValueError(f"target {self.name!r}: method 'tcp' needs tcp_port")
        return self


class PingConfig(CheckConfig):
    """Settings of the ``ping`` check."""

    targets: tuple[PingTarget, ...] = Field(default=(), max_length=32)
    count: int = Field(default=5, ge=1, le=100, description="Echoes per target and run")
    interval_seconds: float = Field(
        default=1.0, ge=0.2, le=10, description="Between echoes (Windows ping: always 1 s)"
    )
    timeout_seconds: float = Field(default=2.0, gt=0, le=30, description="Wait for each reply")
    ping_path: str = Field(default="ping", description="The ping program, by name or path")
    max_concurrency: int = Field(default=8, ge=1, le=32)
    pc_device_id: DeviceId | None = Field(
        default=None, description="The PC pinging (part of each device id); default: host name"
    )

    @model_validator(mode="after")
    def _unique(self) -> PingConfig:
        names = [t.name for t in self.targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"targets: duplicate names {', '.join(duplicates)}")
        return self


@dataclass(frozen=True, slots=True)
class _Outcome:
    address: str
    method: str
    result: PingResult | None = None
    error_class: str | None = None
    detail: str = ""
    unavailable: str | None = None


class PingCheck:
    """The ``ping`` check: one ``link`` device report per target."""

    name: ClassVar[str] = "ping"
    config_model: ClassVar[type[CheckConfig]] = PingConfig

    def __init__(
        self,
        config: PingConfig | None = None,
        *,
        clock: Clock | None = None,
        platform: str = sys.platform,
    ) -> None:
        self.config = config or PingConfig()
        self._clock: Clock = clock or SystemClock()
        self._platform = platform
        self._pc = pc_device_id(self.config.pc_device_id)
        self._told: set[tuple[str, str]] = set()  # (target, reason) already reported unavailable

    async def collect(self) -> list[DeviceReport]:
        """Ping every target concurrently (bounded); never raises for an unreachable target."""
        limit = asyncio.Semaphore(self.config.max_concurrency)
        binary = shutil.which(self.config.ping_path)

        async def bounded(target: PingTarget) -> DeviceReport:
            async with limit:
                return self._report(target, await self._measure(target, binary))

        return list(await asyncio.gather(*(bounded(t) for t in self.config.targets)))

    async def _measure(self, target: PingTarget, binary: str | None) -> _Outcome:
        address = target.address
        if address in (GATEWAY, DNS):
            finder = default_gateway if address == GATEWAY else default_dns_server
            found = await asyncio.to_thread(finder)
            if found is None:
                return _Outcome(address, target.method, unavailable=f"{address} not found")
            address = found
        method = target.method
        if method == "auto":
            method = "icmp" if binary else "tcp"
        if method == "icmp":
            if binary is None:
                return _Outcome(address, method, unavailable=f"no {self.config.ping_path} program")
            return await asyncio.to_thread(self._icmp, binary, address)
        if target.tcp_port is None:
            return _Outcome(
                address, "tcp", unavailable="no ping program and no tcp_port for a TCP connect"
            )
        return await self._tcp(address, target.tcp_port)

    def _icmp(self, binary: str, address: str) -> _Outcome:
        cfg = self.config
        args = ping_command(
            binary, address, cfg.count, cfg.interval_seconds, cfg.timeout_seconds, self._platform
        )
        # C locale: iputils writes decimals with the locale's separator otherwise.
        env = None if self._platform == "win32" else {"LC_ALL": "C", "LANG": "C"}
        limit = cfg.count * max(cfg.interval_seconds, 1.0) + cfg.timeout_seconds + 5
        try:
            done = subprocess.run(
                args,
                capture_output=True,
                timeout=limit,
                check=False,
                env=env,
                creationflags=hidden_window_flags(),
            )
        except subprocess.TimeoutExpired:
            return _Outcome(address, "icmp", error_class="timeout", detail="ping did not finish")
        except OSError as exc:
            return _Outcome(address, "icmp", error_class="error", detail=str(exc))
        encoding = locale.getpreferredencoding(False)
        output = (done.stdout + done.stderr).decode(encoding, errors="replace")
        try:
            result = parse_ping_output(output)
        except PingParseError as exc:
            return _Outcome(
                address, "icmp", error_class=classify_ping_failure(output), detail=str(exc)
            )
        if result.received == 0:
            error = classify_ping_failure(output)
            return _Outcome(
                address, "icmp", result, "timeout" if error == "error" else error, "no reply"
            )
        return _Outcome(address, "icmp", result)

    async def _tcp(self, address: str, port: int) -> _Outcome:
        cfg = self.config
        loop = asyncio.get_running_loop()
        try:
            # Resolve once, so name resolution is not counted in the round trips.
            infos = await loop.getaddrinfo(address, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
            return _Outcome(address, "tcp", error_class="dns", detail=str(exc))
        family, _, _, _, sockaddr = infos[0]
        host = str(sockaddr[0])
        rtts: list[float] = []
        for attempt in range(cfg.count):
            if attempt:
                await asyncio.sleep(cfg.interval_seconds)  # pacing between probes, like ping -i
            start = time.perf_counter()
            try:
                async with asyncio.timeout(cfg.timeout_seconds):
                    _, writer = await asyncio.open_connection(host, port, family=family)
            except ConnectionRefusedError:
                rtts.append(time.perf_counter() - start)  # the host answered with a reset
                continue
            except (TimeoutError, OSError):
                continue
            rtts.append(time.perf_counter() - start)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        result = PingResult(transmitted=cfg.count, rtts=tuple(rtts))
        if not rtts:
            return _Outcome(address, "tcp", result, "timeout", f"no answer on TCP port {port}")
        return _Outcome(address, "tcp", result)

    def _report(self, target: PingTarget, outcome: _Outcome) -> DeviceReport:
        device_id = target.device_id or path_device_id("ping", target.name, self._pc)
        facts = {"address": target.address, "checked_from": self._pc}
        if outcome.address != target.address:
            facts["resolved_address"] = outcome.address
        if outcome.unavailable is not None:
            events: list[Event] = []
            if (target.name, outcome.unavailable) not in self._told:
                self._told.add((target.name, outcome.unavailable))
                events.append(
                    Event(
                        type="ping_unavailable",
                        severity=Severity.INFO,
                        message=f"{target.name}: cannot measure: {outcome.unavailable}",
                        attrs={"target": target.name, "reason": outcome.unavailable[:200]},
                    )
                )
            return DeviceReport(
                device_id=device_id, kind=DeviceKind.LINK, events=events, facts=facts
            )
        labels = {"target": target.name, "address": outcome.address[:200], "method": outcome.method}
        result = outcome.result
        up = result is not None and result.received > 0
        samples = [Sample(name="ping_up", value=float(up), labels=labels)]
        if result is not None:
            samples.append(Sample(name="ping_loss_ratio", value=result.loss_ratio, labels=labels))
        if result is not None and result.rtts:
            for stat, value in (
                ("min", min(result.rtts)),
                ("avg", statistics.fmean(result.rtts)),
                ("max", max(result.rtts)),
            ):
                samples.append(
                    Sample(name="ping_rtt_seconds", value=value, labels={**labels, "stat": stat})
                )
            if result.jitter is not None:
                samples.append(
                    Sample(name="ping_jitter_seconds", value=result.jitter, labels=labels)
                )
        events = []
        if not up:
            error_class = outcome.error_class or "timeout"
            events.append(
                Event(
                    type="ping_failed",
                    severity=Severity.WARNING,
                    message=f"{target.name} ({outcome.address}): {error_class}: {outcome.detail}"[
                        :2000
                    ],
                    attrs={
                        "target": target.name,
                        "address": outcome.address[:200],
                        "method": outcome.method,
                        "error_class": error_class,
                        "detail": outcome.detail[:200],
                    },
                )
            )
        return DeviceReport(
            device_id=device_id, kind=DeviceKind.LINK, samples=samples, events=events, facts=facts
        )


__all__ = [
    "DNS",
    "GATEWAY",
    "PingCheck",
    "PingConfig",
    "PingError",
    "PingParseError",
    "PingResult",
    "PingTarget",
    "classify_ping_failure",
    "default_dns_server",
    "default_gateway",
    "parse_ping_output",
    "ping_command",
]
