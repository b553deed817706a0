"""Local services of a counter PC: the digital-signing bridges the browser talks to, and processes.

The procedure software signs documents (and, with the VNPT-CA Plugin, scans them) through a
bridge running on the PC that the web page reaches over a WebSocket on localhost
(from the bridges' public web libraries, third-party code, unverified):

- VGCA Sign Service (Government Cipher Committee): ``wss://127.0.0.1:8987``;
- VNPT-CA Plugin: ``wss://localhost:{4433,4434,4435}/plugin``; the web library tries each port, so
  the plugin is up if ANY of its ports answers.

For each port the check measures the TCP connect time and, for ``ws``/``wss``, the time until the
bridge answers a WebSocket upgrade request. Any HTTP answer counts as "answered" (a bridge that
says 404 to our path still runs); a bridge that accepts TCP but never answers, as a hung plugin
does, is down with ``timeout``. The bridges use self-signed certificates for localhost, so ``wss``
runs without certificate verification: acceptable because config validation only admits loopback
hosts (this is a local check; nothing leaves the PC).

The application-level questions (the VNPT-CA Plugin's ``checkPlugin``, its version) are the
``signing`` check's (``agent.checks.signing``); this one stays a generic port and process check.
Not done: old TLS 1.0-only bridges (OpenSSL 3 refuses TLS 1.0 by default).

Named processes are counted with psutil (case-insensitive, ``.exe`` optional).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass
from typing import ClassVar, Literal

import psutil
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.checks.base import CheckConfig
from agent.checks.common import (
    NAME_PATTERN,
    distinct_ports,
    header_safe,
    loopback_only,
    pc_device_id,
)
from agent.checks.websocket import (
    CLOSE_FRAME,
    close_writer,
    insecure_tls,
    parse_status_line,
    upgrade_request,
)
from agent.clock import Clock, SystemClock
from agent.wire import DeviceId, DeviceKind, DeviceReport, Event, Sample, Severity

log = logging.getLogger(__name__)


class LocalService(BaseModel):
    """A service on this PC: one or more loopback ports, any of which answering means up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Short name, e.g. 'vgca', 'vnpt_ca'")
    host: str = Field(default="127.0.0.1", description="localhost, 127.0.0.0/8 or ::1 only")
    ports: tuple[int, ...] = Field(min_length=1, max_length=16)
    protocol: Literal["tcp", "ws", "wss"] = Field(
        default="tcp", description="tcp: connect only; ws/wss: WebSocket upgrade handshake"
    )
    path: str = Field(default="/", description="Path of the WebSocket upgrade request")
    origin: str | None = Field(default=None, description="Origin header, if the bridge wants one")
    timeout_seconds: float = Field(default=3.0, gt=0, le=30)

    @field_validator("host")
    @classmethod
    def _loopback(cls, value: str) -> str:
        return loopback_only(value, "local_service")

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return distinct_ports(value)

    @field_validator("path", "origin")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        return header_safe(value)

    @model_validator(mode="after")
    def _path_starts_with_slash(self) -> LocalService:
        if not self.path.startswith("/"):
            raise ValueError(f"path {self.path!r} must start with '/'")
        return self


DEFAULT_SERVICES = (
    LocalService(name="vgca", ports=(8987,), protocol="wss", path="/"),
    LocalService(name="vnpt_ca", ports=(4433, 4434, 4435), protocol="wss", path="/plugin"),
)


class LocalServiceConfig(CheckConfig):
    """Settings of the ``local_service`` check; the defaults check both signing bridges."""

    device_id: DeviceId | None = Field(default=None, description="The PC's device id")
    services: tuple[LocalService, ...] = Field(default=DEFAULT_SERVICES, max_length=32)
    processes: tuple[str, ...] = Field(
        default=(), max_length=32, description="Process names that must run, e.g. 'chrome.exe'"
    )

    @field_validator("processes")
    @classmethod
    def _process_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not 1 <= len(name) <= 100 or "/" in name or "\\" in name:
                raise ValueError(f"process name {name!r}: 1 to 100 characters, no path")
        return value

    @model_validator(mode="after")
    def _unique(self) -> LocalServiceConfig:
        names = [s.name for s in self.services]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"services: duplicate names {', '.join(duplicates)}")
        return self


@dataclass(frozen=True, slots=True)
class PortResult:
    """How one port of a local service answered."""

    port: int
    up: bool
    connect_seconds: float | None = None
    response_seconds: float | None = None
    error: str | None = None  # connect_refused, connect_failed, timeout, tls, protocol
    status: int | None = None  # HTTP status of the upgrade answer (101 = WebSocket accepted)


async def check_port(service: LocalService, port: int) -> PortResult:
    """Connect to one port and, for ws/wss, perform the WebSocket upgrade handshake."""
    start = time.perf_counter()
    connect_seconds: float | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(service.timeout_seconds):
            reader, writer = await asyncio.open_connection(service.host, port)
            connect_seconds = time.perf_counter() - start
            if service.protocol == "tcp":
                return PortResult(port, True, connect_seconds, connect_seconds)
            if service.protocol == "wss":
                await writer.start_tls(insecure_tls(), server_hostname=service.host)
            writer.write(upgrade_request(service.host, port, service.path, service.origin))
            await writer.drain()
            status = parse_status_line(await reader.readline())
            answered = time.perf_counter() - start
            if status is None:
                return PortResult(port, False, connect_seconds, error="protocol")
            if status == 101:
                writer.write(CLOSE_FRAME)
                with contextlib.suppress(OSError):
                    await writer.drain()
            return PortResult(port, True, connect_seconds, answered, status=status)
    except TimeoutError:
        return PortResult(port, False, connect_seconds, error="timeout")
    except ConnectionRefusedError:
        return PortResult(port, False, error="connect_refused")
    except ssl.SSLError:
        return PortResult(port, False, connect_seconds, error="tls")
    except OSError:
        error = "connect_failed" if connect_seconds is None else "protocol"
        return PortResult(port, False, connect_seconds, error=error)
    finally:
        if writer is not None:
            await close_writer(writer)


def _process_key(name: str) -> str:
    lowered = name.casefold()
    return lowered.removesuffix(".exe")


def count_processes(names: tuple[str, ...]) -> dict[str, int]:
    """How many processes run under each configured name (case-insensitive, ``.exe`` optional)."""
    wanted = {_process_key(name): name for name in names}
    counts = dict.fromkeys(names, 0)
    if not names:
        return counts
    for proc in psutil.process_iter(["name"], ad_value=None):
        running = proc.info.get("name")
        if running and (configured := wanted.get(_process_key(running))) is not None:
            counts[configured] += 1
    return counts


class LocalServiceCheck:
    """The ``local_service`` check: signing bridges and processes, as samples of the PC."""

    name: ClassVar[str] = "local_service"
    config_model: ClassVar[type[CheckConfig]] = LocalServiceConfig

    def __init__(
        self, config: LocalServiceConfig | None = None, *, clock: Clock | None = None
    ) -> None:
        self.config = config or LocalServiceConfig()
        self._clock: Clock = clock or SystemClock()
        self._device_id = pc_device_id(self.config.device_id)

    async def collect(self) -> list[DeviceReport]:
        """Check every port of every service at once, and the processes; never raises."""
        services = self.config.services
        port_checks = [check_port(s, p) for s in services for p in s.ports]
        results_and_counts = await asyncio.gather(
            asyncio.gather(*port_checks),
            asyncio.to_thread(count_processes, self.config.processes),
        )
        port_results, counts = results_and_counts
        samples: list[Sample] = []
        events: list[Event] = []
        index = 0
        for service in services:
            results = port_results[index : index + len(service.ports)]
            index += len(service.ports)
            samples_for, event = self._service_samples(service, results)
            samples += samples_for
            if event is not None:
                events.append(event)
        for process, count in counts.items():
            labels = {"process": process[:200]}
            samples += [
                Sample(name="process_running", value=float(count > 0), labels=labels),
                Sample(name="process_count", value=float(count), labels=labels),
            ]
            if count == 0:
                events.append(
                    Event(
                        type="process_missing",
                        severity=Severity.WARNING,
                        message=f"process {process} is not running",
                        attrs={"process": process[:200]},
                    )
                )
        return [
            DeviceReport(
                device_id=self._device_id, kind=DeviceKind.PC, samples=samples, events=events
            )
        ]

    @staticmethod
    def _service_samples(
        service: LocalService, results: list[PortResult]
    ) -> tuple[list[Sample], Event | None]:
        up = any(r.up for r in results)
        samples = [
            Sample(name="local_service_up", value=float(up), labels={"service": service.name})
        ]
        for result in results:
            labels = {"service": service.name, "port": str(result.port)}
            samples.append(
                Sample(name="local_service_port_up", value=float(result.up), labels=labels)
            )
            if result.connect_seconds is not None:
                samples.append(
                    Sample(
                        name="local_service_connect_seconds",
                        value=result.connect_seconds,
                        labels=labels,
                    )
                )
            if result.response_seconds is not None:
                samples.append(
                    Sample(
                        name="local_service_response_seconds",
                        value=result.response_seconds,
                        labels=labels,
                    )
                )
        if up:
            return samples, None
        errors = ";".join(f"{r.port}={r.error}" for r in results)
        event = Event(
            type="local_service_down",
            severity=Severity.WARNING,
            message=f"{service.name}: no port answered ({errors})",
            attrs={
                "service": service.name,
                "ports": ",".join(str(p) for p in service.ports),
                "errors": errors[:200],
            },
        )
        return samples, event


__all__ = [
    "DEFAULT_SERVICES",
    "LocalService",
    "LocalServiceCheck",
    "LocalServiceConfig",
    "PortResult",
    "check_port",
    "count_processes",
    "parse_status_line",
]
