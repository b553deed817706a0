"""Real collectors for the hardening tests: `commune-monitor serve` over HTTPS, a child process."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme

from tests.agent.support import ADMIN_TOKEN, CollectorProcess


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


class HttpsCollector(CollectorProcess):
    """``python -m collector serve --ssl-certfile --ssl-keyfile`` on a loopback port."""

    scheme = "https"

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
        super().__init__(
            database_url,
            data_dir,
            env,
            extra_args=[
                "--ssl-certfile",
                str(pki.cert_pem),
                "--ssl-keyfile",
                str(pki.key_pem),
                *extra_args,
            ],
        )

    def verify(self) -> ssl.SSLContext:
        """Only the test CA is trusted."""
        return self.pki.client_context()

    def admin(self) -> httpx.Client:
        """An admin client that verifies the server against the test CA."""
        return httpx.Client(
            base_url=self.url,
            verify=self.pki.client_context(),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )
