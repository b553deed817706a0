"""Helpers for the PC agent's check tests: a fake clock, loopback servers, catalogue asserts."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.catalogue import load_all as load_catalogue
from agent.wire import DeviceReport
from tests.services import missing_service

SLOW_DELAY_SECONDS = 0.25  # server-side delay before the headers of /slow (moves TTFB)
LOGIN_MARKER = "Đăng nhập hệ thống"
LOGIN_PAGE = (
    "<html><head><meta charset='utf-8'><title>Một cửa điện tử</title></head>"
    f"<body><form><h1>{LOGIN_MARKER}</h1><input name='username'></form></body></html>"
)
MAINTENANCE_PAGE = (
    "<html><head><meta charset='utf-8'></head><body>"
    "<h1>Hệ thống Đang bảo trì</h1><p>Vui lòng quay lại sau.</p></body></html>"
)


class FakeClock:
    """A clock tests move by hand: wall time starts now, monotonic at 1000."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._mono = 1_000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def assert_catalogued(reports: list[DeviceReport]) -> None:
    """Every sample and event in ``reports`` is in ``agent/checks/metrics.yaml``."""
    problems = load_catalogue().problems(reports)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, written as PEM files."""

    cert_path: Path
    key_path: Path
    not_after: datetime


def make_self_signed_cert(directory: Path, days: int) -> Certificate:
    """A self-signed certificate valid for ``days`` days (cryptography, else the openssl CLI)."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return _openssl_cert(directory, days)
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC).replace(microsecond=0)
    not_after = now + timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path, not_after)


def _openssl_cert(directory: Path, days: int) -> Certificate:
    openssl = shutil.which("openssl")
    if openssl is None:
        missing_service("the cryptography package or the openssl program")
    assert openssl is not None
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key_path),
            "-out",
            str(cert_path),
            "-days",
            str(days),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    not_after = datetime.now(UTC) + timedelta(days=days)
    return Certificate(cert_path, key_path, not_after)


def server_tls_context(cert: Certificate) -> ssl.SSLContext:
    """A server-side TLS context serving ``cert``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert_path, cert.key_path)
    return context


# --------------------------------------------------------------------------- HTTP server


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes of the fake procedure system."""

    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/login":
            self._send(200, LOGIN_PAGE)
        elif path == "/slow":
            time.sleep(SLOW_DELAY_SECONDS)  # server-side delay before the first byte
            self._send(200, LOGIN_PAGE)
        elif path == "/maintenance":
            self._send(200, MAINTENANCE_PAGE)
        elif path == "/maintenance503":
            self._send(503, MAINTENANCE_PAGE)
        elif path == "/error":
            self._send(500, "<html><body>Internal Server Error</body></html>")
        elif path == "/redirect":
            self._send(302, "", {"Location": "/login"})
        elif path == "/other":
            self._send(200, "<html><body>Trang chủ</body></html>")
        else:
            self._send(404, "<html><body>Not Found</body></html>")


class TLSCapableServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1, speaking TLS when given a context."""

    daemon_threads = True

    def __init__(
        self,
        tls: ssl.SSLContext | None,
        handler: type[http.server.BaseHTTPRequestHandler] | None = None,
    ) -> None:
        self.tls = tls
        super().__init__(("127.0.0.1", 0), handler or _Handler)

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        # The TLS handshake runs in the request's thread, so a client that aborts it (refusing
        # our self-signed certificate) never blocks the accept loop.
        if self.tls is None:
            with contextlib.suppress(ConnectionError):
                super().finish_request(request, client_address)
            return
        try:
            # wrap_socket detaches the plain socket: the wrapper must be closed here.
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        with wrapped, contextlib.suppress(ssl.SSLError, ConnectionError):
            super().finish_request(wrapped, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early are expected here."""


@contextlib.contextmanager
def http_server(tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A threaded HTTP(S) server on 127.0.0.1; yields its base URL."""
    server = TLSCapableServer(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never answers; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def days_until(when: datetime) -> float:
    """Days from now until ``when``."""
    return (when - datetime.now(UTC)) / dt.timedelta(days=1)
