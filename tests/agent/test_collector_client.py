"""The service's stdlib client to the collector, against real loopback servers that misbehave.

The end-to-end paths (batches acknowledged by the real collector over HTTP and pinned HTTPS, the
config poll with its ETag) run through this client in ``test_cli.py``, ``test_agent_process.py``
and ``tests/hardening/test_tls.py``; here are the answers a collector should never give.
"""

from __future__ import annotations

import contextlib
import http.server
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.collector_client import CollectorUnreachable, UrllibCollectorClient
from agent.sender import Sender, SendError
from agent.spool import Spool
from agent.wire import DeviceKind, DeviceReport, Sample
from tests.agent.checks.helpers import (
    FakeClock,
    TLSCapableServer,
    make_self_signed_cert,
    server_tls_context,
    silent_listener,
)
from tests.services import free_port

ACK = b'{"agent_id":"ag_1","acked_seq":%d,"stored":[],"duplicates":0,"clock_skew_seconds":0.0}'


@dataclass
class Seen:
    """One request a test server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Served:
    """A test server's address and what reached it."""

    url: str
    seen: list[Seen] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        server: _Server = self.server  # type: ignore[assignment]
        server.served.seen.append(
            Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        path = self.path
        if path == "/api/v1/reports":
            self._send(200, ACK % 2)
        elif path == "/cut":
            # Promises 100 bytes, sends 10 and hangs up: an answer cut short.
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
        elif path == "/moved":
            self._send(307, b"", {"Location": "/elsewhere"})
        elif path == "/big":
            self._send(200, b"x" * 5000)
        elif path == "/broken":
            self._send(503, b"database is restarting")
        else:
            self._send(404, b"not found")

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"v1"')
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(TLSCapableServer):
    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(tls, _Handler)
        scheme = "https" if tls else "http"
        self.served = Served(f"{scheme}://127.0.0.1:{self.server_address[1]}")


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Served]:
    """A threaded HTTP(S) server on 127.0.0.1 recording what it receives."""
    server = _Server(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _relay(a: socket.socket, b: socket.socket) -> None:
    while True:
        ready, _, _ = select.select([a, b], [], [], 5)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


@contextlib.contextmanager
def connect_proxy() -> Iterator[tuple[str, list[str]]]:
    """An HTTP CONNECT proxy on 127.0.0.1 (loopback targets only); yields its URL and tunnels."""
    listener = socket.create_server(("127.0.0.1", 0))
    tunnels: list[str] = []
    done = threading.Event()

    def handle(client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host != "127.0.0.1":
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            tunnels.append(target)
            with socket.create_connection((host, int(port)), timeout=5) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _relay(client, upstream)

    def accept() -> None:
        listener.settimeout(0.05)
        while not done.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", tunnels
    finally:
        done.set()
        thread.join()
        listener.close()


def _client(url: str, **kwargs: object) -> UrllibCollectorClient:
    options: dict = {"ssl_context": ssl.create_default_context(), "proxies": {}, **kwargs}
    return UrllibCollectorClient(url, **options)


def _spool(tmp_path: Path, reports: int) -> Spool:
    spool = Spool(tmp_path / "spool.db")
    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    for n in range(reports):
        device = DeviceReport(
            device_id="quay-1", kind=DeviceKind.PC, samples=[Sample(name="cpu_percent", value=n)]
        )
        spool.append(at, [device])
    return spool


async def test_a_batch_is_posted_gzipped_with_its_headers_and_acknowledged(tmp_path: Path) -> None:
    spool = _spool(tmp_path, 2)
    with serving() as served:
        client = _client(served.url, headers={"User-Agent": "commune-agent/test"})
        sender = Sender(spool, client, agent_id="ag_1", token="tok-secret", clock=FakeClock())
        assert await sender.send_once() == 2
    (post,) = served.seen
    assert (post.method, post.path) == ("POST", "/api/v1/reports")
    assert post.headers["authorization"] == "Bearer tok-secret"
    assert post.headers["content-encoding"] == "gzip"
    assert post.headers["user-agent"] == "commune-agent/test"
    assert post.body[:2] == b"\x1f\x8b"
    assert spool.stats().depth == 0
    spool.close()


async def test_every_status_is_an_answer_and_a_redirect_is_not_followed() -> None:
    with serving() as served:
        client = _client(served.url)
        moved = await client.post("/moved", content=b"{}", headers={})
        broken = await client.get("/broken", headers={})
    assert moved.status_code == 307
    assert moved.header("location") == "/elsewhere"
    assert broken.status_code == 503
    assert broken.text == "database is restarting"
    assert broken.header("ETag") == '"v1"'
    # The batch was not sent a second time to where the redirect pointed.
    assert [seen.path for seen in served.seen] == ["/moved", "/broken"]


async def test_a_refused_port_is_unreachable_and_the_reports_stay(tmp_path: Path) -> None:
    spool = _spool(tmp_path, 3)
    client = _client(f"http://127.0.0.1:{free_port()}")
    sender = Sender(spool, client, agent_id="ag_1", token="tok-secret", clock=FakeClock())
    with pytest.raises(SendError) as failed:
        await sender.send_once()
    assert failed.value.retryable
    assert "ConnectionRefusedError" in str(failed.value)
    assert spool.stats().depth == 3
    spool.close()


async def test_a_collector_that_never_answers_times_out() -> None:
    with silent_listener() as port:
        client = _client(f"http://127.0.0.1:{port}", timeout=0.3)
        with pytest.raises(CollectorUnreachable, match="timed out"):
            await client.get("/api/v1/agents/ag_1/config", headers={})


async def test_an_answer_cut_short_or_too_large_is_no_answer() -> None:
    with serving() as served:
        client = _client(served.url, max_response_bytes=1000)
        with pytest.raises(CollectorUnreachable, match="IncompleteRead"):
            await client.get("/cut", headers={})
        with pytest.raises(CollectorUnreachable, match="larger than 1000 bytes"):
            await client.get("/big", headers={})


async def test_tls_is_verified_against_the_given_context(tmp_path: Path) -> None:
    cert = make_self_signed_cert(tmp_path, days=30)
    with serving(server_tls_context(cert)) as served:
        unpinned = _client(served.url)
        with pytest.raises(CollectorUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
            await unpinned.get("/broken", headers={})
        pinned = _client(
            served.url, ssl_context=ssl.create_default_context(cafile=str(cert.cert_path))
        )
        assert (await pinned.get("/broken", headers={})).status_code == 503
    # The refused handshake sent nothing: only the pinned request arrived.
    assert [seen.path for seen in served.seen] == ["/broken"]


async def test_the_environment_proxy_tunnels_https_and_no_proxy_bypasses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = make_self_signed_cert(tmp_path, days=30)
    pinned = ssl.create_default_context(cafile=str(cert.cert_path))
    with serving(server_tls_context(cert)) as served, connect_proxy() as (proxy, tunnels):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        through = UrllibCollectorClient(served.url, ssl_context=pinned)
        assert (await through.get("/broken", headers={})).status_code == 503
        assert tunnels == [served.url.removeprefix("https://")]

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = UrllibCollectorClient(served.url, ssl_context=pinned)
        assert (await direct.get("/broken", headers={})).status_code == 503
        assert len(tunnels) == 1
    assert len(served.seen) == 2


def test_only_http_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="not an http:// or https:// URL"):
        _client("file:///etc/passwd")
