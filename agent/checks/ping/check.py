"""The ``ping`` check: round-trip time, loss and jitter to the gateway, DNS and provincial hosts.

**Method: the system ``ping`` program**, not an unprivileged ICMP socket, because:

- Windows (most counter PCs) has no unprivileged ICMP socket at all (raw sockets need admin; the
  alternative is ctypes around ``IcmpSendEcho``), while ``ping.exe`` is on every Windows;
- on Linux, ``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`` works only where the
  ``net.ipv4.ping_group_range`` sysctl admits the agent's group; Debian's default ("1 0") admits
  nobody, whereas iputils ``ping`` is installed with the capability it needs;
- ``ping`` keeps the agent free of privileges and of a packet parser of our own.

Its output is read by ``agent.checks.ping.parser``; Linux runs it with ``LC_ALL=C`` so decimals
are written with a point.

**Fallback: TCP connect "ping"** when no ping program exists (or ``method: tcp``): connect times to
``tcp_port``, labelled ``method="tcp"``. A refused connection is an answer (the host replied with a
reset), a timeout is a loss. Windows retries a SYN answered by a reset, so point it at an open port
(443 of the portal, 53 of the DNS server).

Each target is one ``DeviceReport`` of kind ``link`` (``ping:<name>@<pc>``): loss or delay
belongs to the path from this PC to the target, labelled ``target``, ``address`` and ``method``.
The PC is part of the id because the collector keys device state by (commune, device id).
"""

from __future__ import annotations

import asyncio
import contextlib
import locale
import logging
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.checks.base import CheckConfig
from agent.checks.common import NAME_PATTERN, hidden_window_flags, path_device_id, pc_device_id
from agent.checks.ping.parser import (
    PingParseError,
    PingResult,
    classify_ping_failure,
    parse_ping_output,
)
from agent.checks.ping.system import default_dns_server, default_gateway, ping_command
from agent.clock import Clock, SystemClock
from agent.wire import DeviceId, DeviceKind, DeviceReport, Event, Sample, Severity

log = logging.getLogger(__name__)

GATEWAY = "@gateway"
DNS = "@dns"
# A host name or an IP literal; never starting with '-', which ping would read as an option.
_ADDRESS = re.compile(r"^(@gateway|@dns|[A-Za-z0-9][A-Za-z0-9.:%_-]{0,252})$")


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
    # What answers: a line (the gateway, the WAN peer: ``link``, the default) or a device known
    # only by ping (a UPS, a camera, a queue-ticket kiosk), so the collector's device rules
    # (ping_up of ups, camera ... in rules.yaml) apply to it.
    kind: DeviceKind = Field(default=DeviceKind.LINK, description="link, or the device's kind")

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
            return DeviceReport(device_id=device_id, kind=target.kind, events=events, facts=facts)
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
            device_id=device_id, kind=target.kind, samples=samples, events=events, facts=facts
        )
