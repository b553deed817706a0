"""Real collectors for the agent runtime's tests: in-process (ASGI) and as a child process."""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.clock import Clock
from agent.identity import Identity, enrol
from agent.settings import AgentSettings
from agent.wire import Report
from collector import agents
from collector.schema import communes, journal
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from tests.services import free_port

ADMIN_TOKEN = "admin-secret"


def first_commune(engine: Engine) -> str:
    """A commune code of the loaded province."""
    with engine.connect() as conn:
        code = conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars().first()
    assert code is not None, "no commune loaded"
    return str(code)


def enrol_token(engine: Engine) -> str:
    """A fresh one-time enrolment token for the first commune."""
    return agents.create_enrol_token(
        engine, first_commune(engine), datetime.now(UTC), timedelta(hours=1)
    )


def journal_rows(engine: Engine, agent_id: str) -> list[tuple[int, datetime, Report]]:
    """(seq, measured_at, report) of every journal row of ``agent_id``, in storage order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(journal.c.seq, journal.c.measured_at, journal.c.payload)
            .where(journal.c.agent_id == agent_id)
            .order_by(journal.c.id)
        ).all()
    return [
        (seq, measured_at, Report.model_validate_json(zlib.decompress(payload)))
        for seq, measured_at, payload in rows
    ]


def agent_settings(data_dir: Path, **overrides: Any) -> AgentSettings:
    """Agent settings on a temporary data dir (never the machine's /etc or /var/lib)."""
    return AgentSettings(data_dir=data_dir, **overrides)


@dataclass
class InProcessCollector:
    """A collector app served through httpx.ASGITransport: no sockets, same code path."""

    transport: httpx.ASGITransport
    engine: Engine
    base_url: str = "http://collector"

    def client(self, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
        """A client such as the agent uses (optionally through a wrapping transport)."""
        return httpx.AsyncClient(transport=transport or self.transport, base_url=self.base_url)

    async def enrol(self, data_dir: Path) -> Identity:
        """Enrol an agent whose identity lives in ``data_dir``."""
        return await enrol(
            self.base_url,
            enrol_token(self.engine),
            path=data_dir / "identity.json",
            hostname="quay-1",
            transport=self.transport,
        )

    async def put_config(self, agent_id: str, config: Mapping[str, Any]) -> httpx.Response:
        """Set an agent's central configuration through the admin API."""
        async with self.client() as client:
            return await client.put(
                f"/api/v1/agents/{agent_id}/config",
                json=config,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )


class Link(httpx.AsyncBaseTransport):
    """The network between agent and collector: cut it, lose answers, see what went over it.

    A fault injector in front of the real collector app, not a stand-in for it: every request
    that gets through is handled by the collector's own code.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.up = True
        # Forward the next N requests, then drop their answers (a cut after the collector
        # stored the batch but before the agent read the ack).
        self.lose_answers = 0
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("link down (test)", request=request)
        self.requests.append(request)
        response = await self._inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        if self.lose_answers:
            self.lose_answers -= 1
            await response.aclose()
            raise httpx.ReadError("connection reset while reading the answer (test)")
        return response


@contextlib.asynccontextmanager
async def in_process_collector(
    engine: Engine, settings: Settings, clock: Clock | None = None
) -> AsyncIterator[InProcessCollector]:
    """A running in-process collector on the test's store."""
    service = build_service(
        settings.model_copy(update={"run_processor": False}),
        clock=clock,
        registry=CollectorRegistry(),
        engine=engine,
    )
    async with service.running():
        yield InProcessCollector(httpx.ASGITransport(app=create_app(service)), engine)


class CollectorProcess:
    """``python -m province serve`` as a child process on a fixed loopback port (restartable)."""

    scheme = "http"

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self._cmd = [
            sys.executable,
            "-m",
            "province",
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
            *extra_args,
        ]
        self._env = {**os.environ, "COMMUNE_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "collector.log"

    def start(self) -> None:
        """Start and wait until /readyz answers."""
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
            return (
                httpx.get(f"{self.url}/readyz", timeout=1, verify=self.verify()).status_code == 200
            )
        except httpx.TransportError:
            return False

    def verify(self) -> ssl.SSLContext | bool:
        """What clients verify this collector's certificate with (the default; unused over HTTP)."""
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash: no graceful shutdown."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then by force."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def put_config(self, agent_id: str, config: Mapping[str, Any]) -> None:
        """Set an agent's central configuration through the admin API."""
        response = httpx.put(
            f"{self.url}/api/v1/agents/{agent_id}/config",
            json=config,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


def wait_until(condition: Any, seconds: float, what: str) -> None:
    """Poll ``condition()`` (a child process's readiness or progress) until true or time out."""
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while datetime.now(UTC) < deadline:
        if condition():
            return
        # Polling another process for progress, not waiting for simulated time to pass.
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


class AgentProcess:
    """``commune-agent run`` as a child process."""

    def __init__(self, data_dir: Path, env: Mapping[str, str]) -> None:
        self.data_dir = data_dir
        self._env = {**os.environ, "COMMUNE_AGENT_DATA_DIR": str(data_dir), **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "agent.log"

    def start(self) -> None:
        """Start the agent service."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from agent.cli import main; main()", "run"],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=self._env,
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no final send, no state save."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> int:
        """SIGTERM, as systemd stops it; returns the exit code."""
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(timeout=30)

    def interrupt(self) -> int:
        """SIGINT, as Ctrl+C in the console it runs in; returns the exit code."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout=30)

    def alive(self) -> bool:
        """Still running."""
        return self.proc is not None and self.proc.poll() is None
