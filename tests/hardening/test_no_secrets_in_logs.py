"""No secret in any log line or CLI output, with every logger at DEBUG, on both stores.

One realistic flow against a real uvicorn server in this process (its access and error loggers,
SQLAlchemy's statement and pool loggers, httpx, apprise, urllib3 all at DEBUG): a one-time
enrolment token is made with the CLI and used over HTTP; the agent reports with its token; the
admin API is called with the admin token; the agent's token is rotated with the CLI and the new
one used; a full disk opens a ticket whose notifications go by e-mail through an SMTP relay that
requires a password and through an apprise URL carrying a bot token; a person logs in to the web
console with a password; the time-series sink points at a database URL with a password in it that
does not answer. Then no secret may appear in the captured log records (messages and extra
fields) nor in the outputs of the CLI commands, except where a command exists to print one
(``enrol-token create``, ``agents rotate-token``), once.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, make_url
from typer.testing import CliRunner

from collector.settings import Settings, load_settings
from inventory.store import commune_names as stored_codes
from province.app import create_app
from province.cli import app as cli
from province.service import build_service
from tests.alerts.receivers import WebhookServer, _Inbox
from tests.alerts.support import expand, pc
from tests.fakes import FakeClock
from tests.services import free_port
from tests.web.support import csrf_token

LOGGERS = (
    "",
    "collector",
    "alerts",
    "web",
    "inventory",
    "agent",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "httpx",
    "httpcore",
    "urllib3",
    "apprise",
    "influxdb_client",
    "python_multipart",
    "multipart",
    "smtplib",
)
# The relay under test is the test's own server; its protocol log is not the collector's.
FOREIGN_LOGGERS = ("mail.log",)


def _foreign(record: logging.LogRecord) -> bool:
    """A record of the test's own relay, or of the test's own HTTP client (the main thread:
    httpcore's DEBUG trace prints the headers it receives, the session cookie among them)."""
    if record.name.startswith(FOREIGN_LOGGERS):
        return True
    return record.threadName == "MainThread" and record.name.startswith(("httpx", "httpcore"))


def _secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(18)}"


class _AuthRelay:
    """aiosmtpd on loopback offering AUTH, accepting only this user and password."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.inbox = _Inbox()
        self.logins: list[str] = []

        def authenticate(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == username
                and data.password.decode() == password
            )
            self.logins.append(data.login.decode() if isinstance(data, LoginPassword) else "?")
            return AuthResult(success=ok)

        # AUTH offered in plain text on loopback (the test asserts that the client logged in;
        # requiring it without TLS makes aiosmtpd warn, which the suite turns into an error).
        self._controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=port,
            authenticator=authenticate,
            auth_require_tls=False,
        )

    def __enter__(self) -> _AuthRelay:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


class _Server:
    """The collector's app under a real uvicorn in a thread, stopped on exit."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, log_level="debug"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert self.thread.is_alive(), "uvicorn stopped"
            time.sleep(0.02)  # waiting for a real server to come up
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def _wait(condition: Any, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # the service's own threads deliver; nothing here needs time to pass


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    server = WebhookServer(free_port())
    server.start()
    yield server
    server.stop()


def _routing_file(folder: Path, hook_port: int) -> Path:
    path = folder / "routing.yaml"
    path.write_text(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT Sở KH&CN
    name_en: DOST IT team
    channels:
      - {{type: email, to: "cntt@example.vn"}}
      - {{type: apprise, to: "json://127.0.0.1:{hook_port}/bot/${{CM_SECRET_BOT}}", id: tg}}
    sla: {{respond: 30m, resolve: 4h}}
routes:
  - {{name: all, owner: team}}
""",
        encoding="utf-8",
    )
    return path


def _cli(args: list[str], database_url: str, data_dir: Path, stdin: str | None = None) -> str:
    result = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(data_dir),
            "--database-url",
            database_url,
            "--log-level",
            "DEBUG",
            *args,
        ],
        input=stdin,
    )
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_no_secret_reaches_a_log_or_a_cli_output(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    receiver: WebhookServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    smtp_password, bot_token, web_password = _secret("smtp"), _secret("bot"), _secret("web")
    admin_token, influx_password, influx_token = _secret("adm"), _secret("ifx"), _secret("ift")
    monkeypatch.setenv("CM_SECRET_BOT", bot_token)
    database_url = settings.effective_database_url
    if engine.dialect.name == "postgresql":
        # The machine's server trusts loopback: a password in the URL is accepted, and must
        # never be printed (SQLAlchemy's URL repr masks it; driver errors must not carry it).
        database_password = _secret("pg")
        database_url = (
            make_url(database_url)
            .set(password=database_password)
            .render_as_string(hide_password=False)
        )
    else:
        database_password = None
    smtp_port = free_port()
    configured = load_settings(
        **{
            "data_dir": tmp_path,
            "database_url": database_url,
            "admin_token": admin_token,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_username": "canh-bao",
            "smtp_password": smtp_password,
            "alerts_routing_file": _routing_file(tmp_path, receiver.port),
            "alerts_notify_seconds": 0.2,
            "alerts_sweep_seconds": 0.2,
            "influx_url": f"http://sink:{influx_password}@127.0.0.1:{free_port()}",
            "influx_token": influx_token,
            "influx_flush_interval_seconds": 0.2,
            "ingest_rate_per_agent": 0,
        }
    )
    clock = FakeClock()
    outputs: list[str] = []
    with _AuthRelay(smtp_port, "canh-bao", smtp_password) as relay:
        service = build_service(configured, clock=clock, registry=CollectorRegistry())
        with _Server(create_app(service)) as server, httpx.Client(base_url=server.url) as http:
            commune = sorted(stored_codes(service.engine))[0]
            enrol_output = _cli(
                ["enrol-token", "create", "--commune", commune], database_url, tmp_path
            )
            enrol_token = enrol_output.strip().splitlines()[-1]
            enrolled = http.post("/api/v1/enrol", json={"token": enrol_token, "hostname": "pc-1"})
            assert enrolled.status_code == 201, enrolled.text
            agent_id, agent_token = enrolled.json()["agent_id"], enrolled.json()["agent_token"]

            def report(token: str, seq: int, disk: float) -> httpx.Response:
                now = clock.now().isoformat()
                return http.post(
                    "/api/v1/reports",
                    json={
                        "schema_version": 1,
                        "agent_id": agent_id,
                        "sent_at": now,
                        "reports": [
                            {
                                "seq": seq,
                                "measured_at": now,
                                "devices": expand([pc("pc-1", disk=disk)]),
                            }
                        ],
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )

            assert report(agent_token, 1, 97.0).status_code == 200
            admin = {"Authorization": f"Bearer {admin_token}"}
            assert http.get("/api/v1/agents", headers=admin).status_code == 200
            assert (
                http.get("/api/v1/agents", headers={"Authorization": "Bearer wrong"}).status_code
                == 401
            )
            outputs.append(_cli(["agents", "list"], database_url, tmp_path))
            rotated_output = _cli(["agents", "rotate-token", agent_id], database_url, tmp_path)
            new_token = rotated_output.strip().splitlines()[-1]
            assert report(agent_token, 2, 97.0).status_code == 401
            clock.advance(60)
            assert report(new_token, 2, 97.0).status_code == 200
            # The full disk is a ticket; its notifications go out with the relay's password
            # and the bot token.
            _wait(lambda: relay.inbox.messages and receiver.received, "both notifications")
            assert relay.logins
            assert set(relay.logins) == {"canh-bao"}
            assert any(f"/bot/{bot_token}" in path for path in receiver.paths)
            assert http.get("/api/v1/tickets", headers=admin).json()
            # A person: the account made with the CLI (password asked twice), then the login.
            outputs.append(
                _cli(
                    ["users", "create", "quan-tri", "--role", "admin"],
                    database_url,
                    tmp_path,
                    stdin=f"{web_password}\n{web_password}\n",
                )
            )
            form = http.get("/web/login")
            # The console's cookies are Secure: over this plain loopback port the client would
            # not send them back by itself.
            login_csrf = form.headers["set-cookie"].split(";")[0]
            login = http.post(
                "/web/login",
                data={
                    "csrf_token": csrf_token(form.text),
                    "username": "quan-tri",
                    "password": web_password,
                },
                headers={"Cookie": login_csrf},
            )
            assert login.status_code == 303, login.text
            session_cookie = login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
            assert len(session_cookie) > 20
            page = http.get("/web/overview", headers={"Cookie": f"cm_session={session_cookie}"})
            assert page.status_code == 200
            refused = http.post(
                "/web/login",
                data={"csrf_token": "x", "username": "quan-tri", "password": web_password + "!"},
            )
            assert refused.status_code in (401, 403)
            outputs.append(_cli(["tickets", "list"], database_url, tmp_path))
            # The sink's database never answered: the failure is in the log, its URL's
            # password is not.
            _wait(
                lambda: any("time-series" in r.getMessage() for r in caplog.records),
                "the sink's failure to be logged",
            )
        # The service opened its own engine (the password is in its URL): close its pool here,
        # not when the garbage collector meets it during a later test.
        service.engine.dispose()

    assert relay.inbox.messages[0]["To"] == "cntt@example.vn"
    # The commands that exist to print a secret print it once, and nothing else secret.
    assert enrol_output.count(enrol_token) == 1
    assert rotated_output.count(new_token) == 1
    outputs += [enrol_output.replace(enrol_token, ""), rotated_output.replace(new_token, "")]
    records = [r for r in caplog.records if not _foreign(r)]
    assert {r.name.split(".")[0] for r in records} >= {
        "uvicorn",
        "sqlalchemy",
        "apprise",
        "collector",
    }
    assert any(
        r.name.startswith("sqlalchemy.engine") and r.levelno == logging.INFO for r in records
    )
    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.__dict__!r}" for record in records
    )
    everything = logged + "\n".join(outputs)
    found = {
        label: value
        for label, value in {
            "enrolment token": enrol_token,
            "agent token": agent_token,
            "rotated agent token": new_token,
            "admin token": admin_token,
            "SMTP password": smtp_password,
            "apprise bot token": bot_token,
            "web password": web_password,
            "web session": session_cookie,
            "time-series URL password": influx_password,
            "time-series token": influx_token,
            "database password": database_password,
        }.items()
        if value and value in everything
    }
    where = {
        label: sorted(
            {r.name for r in records if value in f"{r.getMessage()} {r.__dict__!r}"}
            | {"CLI output" for out in outputs if value in out}
        )
        for label, value in found.items()
    }
    assert not found, (where, {label: _context(everything, v) for label, v in found.items()})


def _context(text: str, secret: str) -> str:
    at = text.index(secret)
    return text[max(0, at - 300) : at + 60]


def test_the_scan_reads_the_extra_fields_of_records(caplog: pytest.LogCaptureFixture) -> None:
    # A guard for the scan above: a secret put in a record's extra fields is found.
    caplog.set_level(logging.DEBUG)
    logging.getLogger("collector.test").debug("x", extra={"token": "s3cr3t-in-extra"})
    assert "s3cr3t-in-extra" in " ".join(repr(r.__dict__) for r in caplog.records)
