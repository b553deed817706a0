"""The local_service check against real sockets on 127.0.0.1: TCP, ws, wss bridges, processes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
from collections.abc import AsyncIterator

import psutil
import pytest
from pydantic import ValidationError

from agent.agent_config import CheckSpec
from agent.checks.local_service import (
    DEFAULT_SERVICES,
    LocalService,
    LocalServiceCheck,
    LocalServiceConfig,
    check_port,
    parse_status_line,
)
from agent.wire import DeviceReport
from tests.agent.checks.helpers import (
    FakeClock,
    assert_catalogued,
    make_self_signed_cert,
    server_tls_context,
    silent_listener,
)
from tests.services import free_port

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


async def _bridge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal signing bridge: accepts the WebSocket upgrade, then waits for the close frame."""
    try:
        headers = {}
        request_line = await reader.readline()
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if not request_line.startswith(b"GET /plugin "):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        else:
            accept = base64.b64encode(
                # RFC 6455 fixes SHA-1 for the accept key; no security rests on it.
                hashlib.sha1(
                    (headers["sec-websocket-key"] + _WS_GUID).encode(), usedforsecurity=False
                ).digest()
            ).decode()
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
        await writer.drain()
        await reader.read(64)  # the client's close frame, or EOF
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def bridge(tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(_bridge, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def sample_values(report: DeviceReport, name: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(v for k, v in sorted(s.labels.items())): s.value
        for s in report.samples
        if s.name == name
    }


async def collect(*services: LocalService, processes: tuple[str, ...] = ()) -> DeviceReport:
    check = LocalServiceCheck(
        LocalServiceConfig(device_id="pc-01", services=services, processes=processes),
        clock=FakeClock(),
    )
    [report] = await check.collect()
    assert report.device_id == "pc-01"
    assert report.kind == "pc"
    assert_catalogued([report])
    return report


async def test_local_service_tcp_port_answers():
    async with bridge() as port:
        report = await collect(LocalService(name="scanner", ports=(port,)))
    assert sample_values(report, "local_service_up") == {("scanner",): 1.0}
    assert sample_values(report, "local_service_port_up") == {(str(port), "scanner"): 1.0}
    [connect] = sample_values(report, "local_service_connect_seconds").values()
    assert 0 <= connect < 1
    assert report.events == []


async def test_local_service_closed_port_is_down_with_an_event():
    port = free_port()
    report = await collect(LocalService(name="vgca", ports=(port,), protocol="wss"))
    assert sample_values(report, "local_service_up") == {("vgca",): 0.0}
    assert "local_service_connect_seconds" not in {s.name for s in report.samples}
    [event] = report.events
    assert event.type == "local_service_down"
    assert event.attrs == {
        "service": "vgca",
        "ports": str(port),
        "errors": f"{port}=connect_refused",
    }


async def test_local_service_plugin_is_up_when_any_port_answers():
    closed_a, closed_b = free_port(), free_port()
    async with bridge() as open_port:
        service = LocalService(
            name="vnpt_ca", ports=(closed_a, open_port, closed_b), protocol="ws", path="/plugin"
        )
        report = await collect(service)
    assert sample_values(report, "local_service_up") == {("vnpt_ca",): 1.0}
    ports = sample_values(report, "local_service_port_up")
    assert ports[(str(open_port), "vnpt_ca")] == 1.0
    assert ports[(str(closed_a), "vnpt_ca")] == 0.0
    assert report.events == []


async def test_local_service_websocket_handshake_is_accepted():
    async with bridge() as port:
        result = await check_port(
            LocalService(name="vnpt_ca", ports=(port,), protocol="ws", path="/plugin"), port
        )
    assert result.up
    assert result.status == 101
    assert result.response_seconds is not None
    assert result.connect_seconds is not None
    assert result.response_seconds >= result.connect_seconds


async def test_local_service_any_http_answer_means_the_bridge_runs():
    async with bridge() as port:
        result = await check_port(
            LocalService(name="vgca", ports=(port,), protocol="ws", path="/SignXML"), port
        )
    assert result.up
    assert result.status == 404


async def test_local_service_wss_with_a_self_signed_localhost_certificate(tmp_path):
    cert = make_self_signed_cert(tmp_path, days=365)
    async with bridge(server_tls_context(cert)) as port:
        report = await collect(
            LocalService(name="vgca", ports=(port,), protocol="wss", path="/plugin")
        )
    assert sample_values(report, "local_service_up") == {("vgca",): 1.0}
    [response] = sample_values(report, "local_service_response_seconds").values()
    [connect] = sample_values(report, "local_service_connect_seconds").values()
    assert response >= connect  # connect + TLS + upgrade


async def test_local_service_hung_bridge_is_a_timeout():
    # Accepts TCP (kernel backlog) but never answers the handshake, like a hung plugin.
    with silent_listener() as port:
        result = await check_port(
            LocalService(name="vnpt_ca", ports=(port,), protocol="ws", timeout_seconds=0.3), port
        )
    assert not result.up
    assert result.error == "timeout"
    assert result.connect_seconds is not None


async def test_local_service_wss_against_a_plain_http_server_is_a_tls_error():
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await check_port(
            LocalService(name="vgca", ports=(port,), protocol="wss", timeout_seconds=1), port
        )
    finally:
        server.close()
        await server.wait_closed()
    assert not result.up
    assert result.error == "tls"


async def test_local_service_counts_named_processes():
    me = psutil.Process().name()
    report = await collect(processes=(me.upper(), "no-such-process.exe"))
    running = sample_values(report, "process_running")
    assert running[(me.upper(),)] == 1.0
    assert running[("no-such-process.exe",)] == 0.0
    assert sample_values(report, "process_count")[(me.upper(),)] >= 1
    [event] = report.events
    assert event.type == "process_missing"
    assert event.attrs == {"process": "no-such-process.exe"}


def test_local_service_defaults_are_the_signing_bridges_and_valid():
    config = LocalServiceConfig()
    assert config.services == DEFAULT_SERVICES
    assert [(s.name, s.ports, s.protocol) for s in config.services] == [
        ("vgca", (8987,), "wss"),
        ("vnpt_ca", (4433, 4434, 4435), "wss"),
    ]
    # A configuration naming local_service with default options must validate.
    assert CheckSpec(check="local_service").options == {}


@pytest.mark.parametrize("host", ["10.0.0.5", "example.gov.vn", "0.0.0.0", "192.168.1.1"])
def test_local_service_only_accepts_loopback_hosts(host):
    with pytest.raises(ValidationError, match="loopback"):
        LocalService(name="x", host=host, ports=(80,))
    with pytest.raises(ValueError, match="loopback"):
        CheckSpec(
            check="local_service",
            options={"services": [{"name": "x", "host": host, "ports": [80]}]},
        )


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]"])
def test_local_service_loopback_hosts_are_accepted(host):
    assert LocalService(name="x", host=host, ports=(80,)).host == host


def test_local_service_config_rejects_bad_values():
    with pytest.raises(ValidationError, match="65535"):
        LocalService(name="x", ports=(70000,))
    with pytest.raises(ValidationError, match="repeat"):
        LocalService(name="x", ports=(80, 80))
    with pytest.raises(ValidationError, match="start with"):
        LocalService(name="x", ports=(80,), path="plugin")
    with pytest.raises(ValidationError, match="printable"):
        LocalService(name="x", ports=(80,), path="/a\r\nX-Evil: 1")
    with pytest.raises(ValidationError, match="duplicate"):
        LocalServiceConfig(services=[LocalService(name="x", ports=(80,))] * 2)


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"HTTP/1.1 101 Switching Protocols\r\n", 101),
        (b"HTTP/1.0 404 Not Found\r\n", 404),
        (b"SSH-2.0-OpenSSH_9.2\r\n", None),
        (b"", None),
        (b"\xff\xfe\x00", None),
    ],
)
def test_status_line_parser(line, status):
    assert parse_status_line(line) == status
