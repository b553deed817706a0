"""``commune-agent`` as a technician uses it: enrol, run, status, check, and clear errors."""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from sqlalchemy import Engine
from typer.testing import CliRunner

from agent.cli import app
from tests.agent.checks.helpers import make_self_signed_cert
from tests.agent.support import (
    ADMIN_TOKEN,
    CollectorProcess,
    enrol_token,
    journal_rows,
    wait_until,
)
from tests.services import free_port

cli = CliRunner()


def agent(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``commune-agent --data-dir DATA_DIR ARGS`` in this process."""
    return cli.invoke(app, ["--data-dir", str(data_dir), *args], env=env)


@pytest.fixture
def collector(engine: Engine, store_url: str, tmp_path: Path) -> Iterator[CollectorProcess]:
    """``commune-monitor serve`` on a loopback port, on the test's store."""
    (tmp_path / "collector").mkdir()
    process = CollectorProcess(store_url, tmp_path / "collector")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_enrol_run_once_and_status(
    engine: Engine, collector: CollectorProcess, tmp_path: Path
) -> None:
    data = tmp_path / "agent"
    token = enrol_token(engine)

    # The token from the environment: not in the process list or the shell history.
    env = {"COMMUNE_AGENT_ENROL_TOKEN": token}
    enrolled = agent(data, "enrol", "--server", collector.url, "--hostname", "quay-1", env=env)
    assert enrolled.exit_code == 0, enrolled.output
    assert "enrolled: agent ag_" in enrolled.output
    identity = json.loads((data / "identity.json").read_text())
    assert stat.S_IMODE((data / "identity.json").stat().st_mode) == 0o600
    agent_id = identity["agent_id"]
    assert agent_id in enrolled.output

    # Enrolling again is refused without --force, and the token cannot be reused with it.
    again = agent(data, "enrol", "--server", collector.url, "--token", token)
    assert again.exit_code == 1
    assert "already enrolled" in again.stderr
    assert "--force" in again.stderr
    reused = agent(data, "enrol", "--server", collector.url, "--token", token, "--force")
    assert reused.exit_code == 1
    assert "HTTP 409" in reused.stderr
    assert "already used" in reused.stderr
    assert json.loads((data / "identity.json").read_text())["agent_id"] == agent_id

    ran = agent(data, "run", "--once")
    assert ran.exit_code == 0, ran.output + ran.stderr
    # The default configuration: host, signing and tokens (issue 23).
    assert "ran 3 checks (0 failed), configuration central" in ran.output
    rows = journal_rows(engine, agent_id)
    assert f"sent {len(rows)} reports, 0 left in the spool" in ran.output
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))

    shown = agent(data, "status", "--json")
    assert shown.exit_code == 0, shown.stderr
    status = json.loads(shown.output)
    assert status["identity"]["agent_id"] == agent_id
    assert status["identity"]["server_url"] == collector.url
    assert status["spool"]["depth"] == 0
    assert status["spool"]["acked_seq"] == len(rows)
    assert status["state"]["last_acked_seq"] == len(rows)
    assert status["state"]["config_source"] == "central"
    assert status["state"]["last_send_error"] is None

    text = agent(data, "status")
    assert text.exit_code == 0
    assert f"{agent_id} (commune {identity['commune_code']})" in text.output
    assert f"acknowledged up to #{len(rows)}" in text.output
    assert "0 reports waiting" in text.output

    # The collector goes away: --once keeps the reports and says so.
    collector.stop()
    offline = agent(data, "run", "--once")
    assert offline.exit_code == 1
    assert "could not send to the collector (reports stay in the spool)" in offline.stderr
    status = json.loads(agent(data, "status", "--json").output)
    assert status["spool"]["depth"] >= 2
    assert "ConnectionRefusedError" in status["state"]["last_send_error"]
    assert status["state"]["send_failures"] == 1

    # Back again: the bounded service sends them and stops by itself.
    collector.start()
    served = agent(data, "run", "--max-seconds", "1")
    assert served.exit_code == 0, served.stderr
    status = json.loads(agent(data, "status", "--json").output)
    assert status["spool"]["depth"] == 0
    rows = journal_rows(engine, agent_id)
    assert [seq for seq, _, _ in rows] == list(range(1, status["spool"]["next_seq"]))
    # It said goodbye before it stopped (the runs with --once said neither hello nor goodbye).
    assert [e.type for e in rows[-1][2].devices[0].events] == ["agent_stopping"]
    assert status["state"]["stop_reason"] == "service_stop"
    assert status["state"]["previous_stop"] == "first_start"
    text = agent(data, "status")
    assert "(previous run: first_start); stopped " in text.output
    assert "(service_stop)" in text.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["enrol", "--server", "ftp://x", "--token", "enr_12345678"], 2, "--server: 'ftp://x'"),
        (["enrol", "--server", "http://127.0.0.1:9", "--token", "x"], 2, "--token: an enrolment"),
        (
            ["enrol", "--server", "http://x", "--token", "enr_12345678", "--ca-file", "/nope.pem"],
            2,
            "--ca-file: /nope.pem does not exist",
        ),
        (["enrol", "--server", "http://x"], 2, "Missing option '--token'"),
        (["run"], 1, "not enrolled"),
        (["run", "--once", "--max-seconds", "5"], 2, "cannot be used together"),
        (["run", "--max-seconds", "0"], 2, "--max-seconds"),
        (["check", "--check", "teleport"], 2, "--check: 'teleport' is not configured here"),
        (["--log-level", "LOUD", "status"], 2, "setting log_level"),
    ],
)
def test_bad_input_is_named(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = agent(tmp_path, *args)
    assert result.exit_code == code, result.output + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "identity.json").exists()


def test_unreachable_server_at_enrol(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = agent(tmp_path, "enrol", "--server", url, "--token", "enr_12345678")
    assert result.exit_code == 1
    assert f"cannot reach {url}" in result.stderr


def test_settings_file_errors_are_clear(tmp_path: Path) -> None:
    missing = cli.invoke(app, ["--config", str(tmp_path / "none.toml"), "status"])
    assert missing.exit_code == 2
    assert "settings file" in missing.stderr
    assert "does not exist" in missing.stderr

    broken = tmp_path / "broken.toml"
    broken.write_text("data_dir = \n")
    result = cli.invoke(app, ["--config", str(broken), "status"])
    assert result.exit_code == 2
    assert "is not a valid TOML file" in result.stderr

    unknown = tmp_path / "unknown.toml"
    unknown.write_text(f"data_dir = '{tmp_path}'\nspool_size = 5\n")
    result = cli.invoke(app, ["--config", str(unknown), "status"])
    assert result.exit_code == 2
    assert "setting spool_size: Extra inputs are not permitted" in result.stderr

    env = agent(tmp_path, "status", env={"COMMUNE_AGENT_BATCH_SIZE": "0"})
    assert env.exit_code == 2
    assert "setting batch_size: Input should be greater than or equal to 1" in env.stderr


def test_settings_file_is_read(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    config = tmp_path / "agent.toml"
    config.write_text(f"data_dir = '{data}'\n")
    result = cli.invoke(app, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.output)
    assert status["data_dir"] == str(data)
    assert status["identity"] is None
    assert "not enrolled" in status["identity_error"]
    assert status["spool"] is None


def test_check_prints_real_figures_without_sending(tmp_path: Path) -> None:
    result = agent(tmp_path, "check", "--check", "host", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.output)
    assert payload["configuration"] == "default (not enrolled)"
    [host] = payload["checks"]
    assert host["ok"] is True
    names = {s["name"] for d in host["devices"] for s in d["samples"]}
    assert {"cpu_percent", "memory_total_bytes"} <= names
    # A one-off check touches none of the service's files.
    assert not (tmp_path / "spool.db").exists()

    table = agent(tmp_path, "check", "--check", "host")
    assert table.exit_code == 0
    assert "cpu_percent" in table.output
    assert "host (host): OK" in table.output


@pytest.fixture
def tls_collector(engine: Engine, store_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The collector app under uvicorn with a self-signed certificate: (URL, certificate)."""
    cert = make_self_signed_cert(tmp_path, days=30)
    port = free_port()
    env = {
        **os.environ,
        "COMMUNE_MONITOR_DATABASE_URL": store_url,
        "COMMUNE_MONITOR_DATA_DIR": str(tmp_path),
        "COMMUNE_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    url = f"https://127.0.0.1:{port}"
    with (tmp_path / "uvicorn.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "province.asgi:app_factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--ssl-certfile", str(cert.cert_path), "--ssl-keyfile", str(cert.key_path)],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip

    trust = ssl.create_default_context(cafile=str(cert.cert_path))

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError((tmp_path / "uvicorn.log").read_text()[-2000:])
        try:
            return httpx.get(f"{url}/readyz", verify=trust, timeout=1).is_success
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, 30, "the TLS collector")
        yield url, cert.cert_path
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_tls_is_verified_and_a_pinned_ca_is_kept_for_run(
    engine: Engine, tls_collector: tuple[str, Path], tmp_path: Path
) -> None:
    url, ca = tls_collector
    data = tmp_path / "agent"
    token = enrol_token(engine)

    unpinned = agent(data, "enrol", "--server", url, "--token", token)
    assert unpinned.exit_code == 1
    assert f"cannot reach {url}" in unpinned.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in unpinned.stderr
    assert not (data / "identity.json").exists()

    # The refused handshake did not use the one-time token up.
    pinned = agent(data, "enrol", "--server", url, "--token", token, "--ca-file", str(ca))
    assert pinned.exit_code == 0, pinned.stderr
    identity = json.loads((data / "identity.json").read_text())
    assert identity["ca_file"] == str(ca.resolve())

    ran = agent(data, "run", "--once")
    assert ran.exit_code == 0, ran.stderr
    rows = journal_rows(engine, identity["agent_id"])
    assert f"sent {len(rows)} reports, 0 left in the spool" in ran.output
    assert len(rows) >= 3


_IMPORTS = """
import sys
from agent.cli import _keep_httpx_cli_out
_keep_httpx_cli_out()
import agent.cli, agent.runner, agent.service, agent.service_loop, apscheduler.schedulers.asyncio
from agent.checks import check_class
for name in ("host", "http_probe", "local_service", "ping", "signing", "tokens"):
    check_class(name)
print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_a_pc_agent_process_loads_no_server_or_snmp_library() -> None:
    # Memory on a 4 GB counter PC: what the service imports is what it keeps resident.
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    loaded = set(out)
    assert "agent" in loaded
    for heavy in ("collector", "sqlalchemy", "fastapi", "starlette", "uvicorn", "pysnmp",
                  "rich", "pygments", "yaml", "prometheus_client", "numpy", "pkcs11",
                  "cryptography"):  # fmt: skip
        assert heavy not in loaded, f"{heavy} is imported by the PC agent"


# Loaded by the CLI to parse options and settings, but never by the service process ``run``
# becomes (agent.service): each is resident memory on a 4 GB counter PC (docs/agent.md).
_NOT_IN_THE_SERVICE = (
    "typer", "click", "rich", "pygments", "shellingham",  # the CLI
    "pydantic_settings", "dotenv", "argparse",  # settings sources: resolved by the CLI
    "httpx", "httpcore", "anyio", "h11", "certifi", "idna",  # enrolment's client
    "yaml", "pycurl", "pysnmp", "collector", "sqlalchemy", "fastapi", "starlette", "uvicorn",
    "prometheus_client", "numpy",
)  # fmt: skip
_IMPORTTIME_HEADER = "import time: self [us] | cumulative | imported package"


def _imported(section: list[str]) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in section if line.startswith("import time:")}


def test_the_service_process_keeps_its_pid_and_loads_only_what_running_needs(
    tmp_path: Path,
) -> None:
    from pydantic import SecretStr

    from agent.identity import Identity, save_identity

    data = tmp_path / "agent"
    save_identity(
        data / "identity.json",
        Identity(
            agent_id="ag_imports",
            agent_token=SecretStr("agt_not_a_real_token"),
            # Nobody listens there: the reports stay spooled, which is fine for this test.
            server_url=f"http://127.0.0.1:{free_port()}",
            commune_code="00001",
            enrolled_at=datetime.now(UTC),
        ),
    )
    env = {**os.environ, "COMMUNE_AGENT_DATA_DIR": str(data), "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from agent.cli import main; main()", "run", "--max-seconds", "2"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        _, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, stderr[-3000:]
    # -X importtime prints a header per interpreter: the CLI's, then the service's.
    sections: list[list[str]] = []
    for line in stderr.splitlines():
        if line.startswith(_IMPORTTIME_HEADER):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    assert len(sections) == 2, "run did not start a separate service interpreter"
    cli_modules, service_modules = (_imported(section) for section in sections)
    assert {"typer", "pydantic_settings", "agent.service"} <= cli_modules
    # (Check modules come through importlib.import_module, which -X importtime does not time;
    # psutil is what the host check imports.)
    assert {"agent.runner", "apscheduler.schedulers.asyncio", "urllib.request", "psutil"} <= (
        service_modules
    )
    loaded = {name.split(".")[0] for name in service_modules}
    assert not [name for name in _NOT_IN_THE_SERVICE if name in loaded]
    # The same process all along: systemd, NSSM or a kill -9 see one pid.
    state = json.loads((data / "state.json").read_text())
    assert state["pid"] == proc.pid
    assert state["config_source"] == "default"


def test_the_service_entry_refuses_to_be_run_by_hand() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "agent.service", "--data-dir", "/tmp"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert "started by 'commune-agent run'" in ran.stderr
