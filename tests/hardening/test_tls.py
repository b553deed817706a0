"""TLS end to end: the real collector serves HTTPS with a certificate from a CA made in the test,
and the real agent code (CLI enrolment with --ca-file, the runner's client, the sender) pins it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from agent.clock import SystemClock
from agent.identity import load_identity
from agent.runner import make_client
from agent.sender import Sender, SendError
from agent.spool import Spool
from agent.wire import DeviceReport
from collector.schema import enrol_tokens, journal
from province.cli import app as collector_cli
from tests.agent.support import ADMIN_TOKEN, agent_settings, enrol_token
from tests.collector.builders import pc_device
from tests.hardening.support import HttpsCollector, TestPki, make_pki

pytestmark = pytest.mark.slow


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def https_collector(
    engine: Engine, store_url: str, tmp_path: Path, pki: TestPki
) -> Iterator[HttpsCollector]:
    (tmp_path / "collector").mkdir()
    collector = HttpsCollector(store_url, tmp_path / "collector", pki)
    collector.start()
    yield collector
    collector.stop()


def _agent_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``commune-agent ARGS`` as a child process on its own data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", "from agent.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COMMUNE_AGENT_DATA_DIR": str(data_dir)},
        check=False,
    )


def _collector_cli(store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "province", "--database-url", store_url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _spool_reports(spool: Spool, count: int) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(count):
        device = DeviceReport.model_validate(pc_device("quay-1", cpu=float(n)))
        spool.append(start + timedelta(seconds=15 * n), [device])


def _stored_seqs(engine: Engine, agent_id: str) -> list[int]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(select(journal.c.seq).where(journal.c.agent_id == agent_id)).scalars()
        )


async def test_agent_enrols_and_sends_over_pinned_tls_then_rotation_and_revocation_bite(
    engine: Engine, store_url: str, https_collector: HttpsCollector, pki: TestPki, tmp_path: Path
) -> None:
    data_dir = tmp_path / "agent"
    one_time = enrol_token(engine)
    enrolled = _agent_cli(
        data_dir,
        "enrol",
        "--server",
        https_collector.url,
        "--token",
        one_time,
        "--ca-file",
        str(pki.ca_pem),
        "--hostname",
        "quay-1",
    )
    assert enrolled.returncode == 0, enrolled.stderr
    settings = agent_settings(data_dir)
    identity = load_identity(settings.identity_path)
    assert identity.server_url.startswith("https://")
    assert identity.ca_file == pki.ca_pem.resolve()

    spool = Spool(settings.spool_path)
    async with make_client(settings, identity) as client:
        sender = Sender(
            spool,
            client,
            agent_id=identity.agent_id,
            token=identity.agent_token.get_secret_value(),
            clock=SystemClock(),
        )
        _spool_reports(spool, 3)
        assert await sender.flush() == 3
        assert _stored_seqs(engine, identity.agent_id) == [1, 2, 3]

        # Rotation: the old token is refused at once, the new one works.
        rotated = _collector_cli(store_url, "agents", "rotate-token", identity.agent_id)
        assert rotated.returncode == 0, rotated.stderr
        new_token = rotated.stdout.strip()
        assert new_token.startswith("agt_")
        _spool_reports(spool, 2)
        with pytest.raises(SendError) as refused:
            await sender.send_once()
        assert refused.value.status == 401
        assert not refused.value.retryable
        assert spool.stats().depth == 2  # nothing acknowledged, nothing dropped
        sender.set_token(new_token)
        assert await sender.flush() == 2
        assert _stored_seqs(engine, identity.agent_id) == [1, 2, 3, 4, 5]

        # Revocation through the admin API (over the same HTTPS): the very next batch stops,
        # although the collector had just cached this token.
        with https_collector.admin() as admin:
            assert admin.post(f"/api/v1/agents/{identity.agent_id}/revoke").status_code == 204
        _spool_reports(spool, 1)
        with pytest.raises(SendError) as revoked:
            await sender.send_once()
        assert revoked.value.status == 401
        assert "revoked" in str(revoked.value)
        assert spool.stats().depth == 1
    spool.close()
    assert _stored_seqs(engine, identity.agent_id) == [1, 2, 3, 4, 5]
    # No secret in what either side printed or logged.
    secrets = [one_time, identity.agent_token.get_secret_value(), new_token, ADMIN_TOKEN]
    printed = enrolled.stdout + enrolled.stderr + rotated.stderr + https_collector.log.read_text()
    assert not [secret for secret in secrets if secret in printed]


def test_agent_without_the_ca_is_refused_before_sending_its_token(
    engine: Engine, https_collector: HttpsCollector, tmp_path: Path
) -> None:
    token = enrol_token(engine)
    # The system store does not know the throwaway CA: the handshake fails.
    unpinned = _agent_cli(
        tmp_path / "agent", "enrol", "--server", https_collector.url, "--token", token
    )
    assert unpinned.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in unpinned.stderr or "certificate" in unpinned.stderr
    assert not (tmp_path / "agent" / "identity.json").exists()
    # A CA that did not sign the server's certificate is refused just the same.
    other = make_pki(tmp_path / "other-pki")
    wrong = _agent_cli(
        tmp_path / "agent",
        "enrol",
        "--server",
        https_collector.url,
        "--token",
        token,
        "--ca-file",
        str(other.ca_pem),
    )
    assert wrong.returncode != 0
    assert not (tmp_path / "agent" / "identity.json").exists()
    # The token never reached the collector: it is still unused.
    with engine.connect() as conn:
        used = conn.execute(select(enrol_tokens.c.used_at)).scalars().all()
    assert used == [None]
    # Plain HTTP to the HTTPS port gets no answer at all.
    with pytest.raises(httpx.TransportError):
        httpx.get(https_collector.url.replace("https:", "http:") + "/readyz", timeout=5)


def test_serve_refuses_half_a_tls_configuration(tmp_path: Path, pki: TestPki) -> None:
    runner = CliRunner()
    only_cert = runner.invoke(
        collector_cli,
        ["--data-dir", str(tmp_path), "serve", "--ssl-certfile", str(pki.cert_pem)],
    )
    assert only_cert.exit_code == 2
    assert "ssl_certfile and ssl_keyfile must be given together" in only_cert.output
    missing = runner.invoke(
        collector_cli,
        [
            "--data-dir",
            str(tmp_path),
            "serve",
            "--ssl-certfile",
            str(tmp_path / "nope.pem"),
            "--ssl-keyfile",
            str(pki.key_pem),
        ],
    )
    assert missing.exit_code == 2
    assert "--ssl-certfile" in missing.output
    assert "does not exist" in missing.output
