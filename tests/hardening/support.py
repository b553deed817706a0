"""Real processes for the drills: an HTTPS `commune-monitor serve`, a private PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme
from sqlalchemy import Engine, create_engine, text

from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.settings import Settings
from province import migrate
from tests.agent.support import ADMIN_TOKEN, CollectorProcess, Link
from tests.conftest import TEST_PROVINCE
from tests.services import free_port, missing_service


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
    """``python -m province serve --ssl-certfile --ssl-keyfile`` on a loopback port."""

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


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own, in a temp dir on a free loopback port.

    For drills that stop and restart the *server*: the machine's shared cluster on 5432 serves
    other people's tests at the same time and must never be restarted. Runs as the ``postgres``
    OS user (initdb refuses root); stopped by ``pg_ctl stop`` and, failing that, by its PID.
    """

    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / tool).is_file():
                missing_service(f"PostgreSQL 15 server programs ({PG_BIN / tool})")
        if shutil.which("runuser") is None or _uid_of("postgres") is None:
            missing_service("the postgres OS user and runuser (to run initdb as non-root)")
        # Not under pytest's tmp_path: its parents are root-only and postgres must enter them.
        self.root = Path(tempfile.mkdtemp(prefix="cm-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "30", *options
        )

    def init(self) -> PrivatePostgres:
        """Create the cluster (trust authentication on loopback only) and start it."""
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self.start()

    def start(self) -> PrivatePostgres:
        """Start the server (again) on the same port and data; returns once it accepts."""
        self._pg_ctl(
            "start",
            "-l",
            str(self.log),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends sessions and checkpoints, ``immediate`` is a crash."""
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """A real server restart: every connection is cut, the postmaster starts afresh."""
        self.stop(mode)
        self.start()

    def pid(self) -> int | None:
        """The postmaster's PID while the server runs (first line of postmaster.pid)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def create_database(self, name: str) -> str:
        """A new database; returns its SQLAlchemy URL."""
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        """Stop the server (by pg_ctl, else by its PID) and delete the cluster."""
        try:
            if self.pid() is not None:
                self.stop("fast")
        except (RuntimeError, subprocess.TimeoutExpired):
            pid = self.pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _uid_of(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def prepared_store(settings: Settings) -> Engine:
    """An engine on ``settings``' store, migrated and holding the test province's communes."""
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, TEST_PROVINCE))
    return engine


class AnswerLog(Link):
    """A :class:`Link` that also keeps every answer's status and ``Retry-After`` header."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        super().__init__(inner)
        self.answers: list[tuple[int, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.answers.append((response.status_code, response.headers.get("Retry-After")))
        return response

    def count(self, status: int) -> int:
        """Answers with ``status`` so far."""
        return sum(1 for code, _ in self.answers if code == status)


class ProcessingProcess(CollectorProcess):
    """``python -m province process`` as a child process: the journal processor, the sink's
    sender and the alert timers, without HTTP (beside ``serve --no-processor``)."""

    def __init__(
        self, database_url: str, data_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(database_url, data_dir, env)
        self._cmd = [*self._cmd[: self._cmd.index("serve")], "process"]
        self.url = ""  # nothing to reach over HTTP

    def _ready(self) -> bool:
        # No /readyz without HTTP: started is ready; a crash at start shows its log.
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"processor exited: {self.log.read_text()[-2000:]}")
        return True
