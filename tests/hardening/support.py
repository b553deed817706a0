"""Real collectors for the hardening tests: `commune-monitor serve` over HTTPS, a child process."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme

from tests.agent.support import ADMIN_TOKEN, wait_until
from tests.services import free_port


@dataclass(frozen=True)
class TestPki:
    """A throwaway CA made for one test and a server certificate for 127.0.0.1 it signed."""

    __test__ = False  # not a pytest test class

    ca_pem: Path
    cert_pem: Path
    key_pem: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this test's CA."""
        return ssl.create_default_context(cafile=str(self.ca_pem))


def make_pki(folder: Path) -> TestPki:
    """Write a fresh CA, and a server certificate for 127.0.0.1/localhost, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="commune-monitor test CA")
    server = ca.issue_cert("127.0.0.1", "localhost")
    pki = TestPki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(pki.ca_pem))
    server.private_key_pem.write_to_path(str(pki.key_pem))
    # The chain: the server's certificate, then any intermediates (none here).
    with pki.cert_pem.open("wb") as chain:
        for blob in server.cert_chain_pems:
            chain.write(blob.bytes())
    return pki


class HttpsCollector:
    """``python -m collector serve --ssl-certfile --ssl-keyfile`` on a loopback port."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        pki: TestPki,
        *,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.pki = pki
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self._cmd = [
            sys.executable,
            "-m",
            "collector",
            "--database-url",
            database_url,
            "--data-dir",
            str(data_dir),
            "--log-level",
            "WARNING",
            "serve",
            "--port",
            str(self.port),
            "--no-migrate",
            "--ssl-certfile",
            str(pki.cert_pem),
            "--ssl-keyfile",
            str(pki.key_pem),
            *extra_args,
        ]
        self._env = {**os.environ, "COMMUNE_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "collector.log"

    def start(self) -> None:
        """Start and wait until /readyz answers over HTTPS."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self._cmd, stdout=subprocess.DEVNULL, stderr=log, env=self._env
            )
        wait_until(self._ready, 30, f"collector on {self.url} ready")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"collector exited: {self.log.read_text()[-2000:]}")
        try:
            response = httpx.get(f"{self.url}/readyz", timeout=1, verify=self.pki.client_context())
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def admin(self) -> httpx.Client:
        """An admin client that verifies the server against the test CA."""
        return httpx.Client(
            base_url=self.url,
            verify=self.pki.client_context(),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then by force; only the process this object started."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
