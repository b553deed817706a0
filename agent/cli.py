"""``commune-agent``: enrol a PC, run the agent service, check the PC once, show its status.

``run`` (the service) only parses here: on POSIX the process then becomes ``agent.service``,
which imports neither typer nor pydantic-settings (see that module).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from agent.cli_render import print_runs, print_status
from agent.errors import AgentError, EnrolError, IdentityError, NotEnrolled
from agent.logs import setup_logging
from agent.settings import AgentSettings, load_settings

if TYPE_CHECKING:
    from agent.agent_config import AgentConfig
    from agent.check_run import CheckRun
    from agent.identity import Identity

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

app = typer.Typer(
    help="commune-agent: monitors this PC (host health, procedure-software probes, signing "
    "services, ping) for the commune centre, and sends the figures to the province.\n\n"
    "Settings come from (lowest to highest): defaults, a TOML file (--config), environment "
    "variables COMMUNE_AGENT_<SETTING> (e.g. COMMUNE_AGENT_DATA_DIR), and options.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class _Context:
    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    log_level: str | None = None
    # Set by main(), the real program: ``run`` may then replace the process (agent.service).
    # Typer's test runner invokes ``app`` directly and keeps everything in its own process.
    exec_service: bool = False

    def settings(self) -> AgentSettings:
        try:
            settings = load_settings(self.config_file, **self.overrides)
        except FileNotFoundError as exc:
            _fail(f"--config: {exc}")
        except ValidationError as exc:
            problems = "; ".join(
                f"setting {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)
            )
            _fail(f"invalid settings: {problems}")
        except ValueError as exc:  # tomllib.TOMLDecodeError: the file is not TOML
            _fail(f"--config: {self.config_file} is not a valid TOML file: {exc}")
        except OSError as exc:
            _fail(f"--config: cannot read {self.config_file}: {exc.strerror or exc}")
        setup_logging(self.log_level or settings.log_level)
        return settings


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML file of settings (keys as in the environment, lowercase, e.g. "
            "data_dir = '...'). Default: /etc/commune-agent/agent.toml on Linux, "
            "%ProgramData%\\commune-agent\\agent.toml on Windows, if it exists.",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the identity, spool and state. Default /var/lib/commune-agent "
            "(Linux), %ProgramData%\\commune-agent (Windows). It holds the agent token: keep it "
            "readable by the service user only.",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="Logging level: DEBUG, INFO, WARNING, ERROR. Default INFO (setting log_level). "
            "DEBUG logs every failed config poll.",
        ),
    ] = None,
) -> None:
    """Global options, shared by every command."""
    obj = ctx.ensure_object(_Context)
    obj.config_file = config
    obj.overrides = {"data_dir": data_dir, "log_level": log_level}
    obj.log_level = log_level


# ---------------------------------------------------------------------------- enrol


@app.command()
def enrol(
    ctx: typer.Context,
    server: Annotated[
        str,
        typer.Option(
            help="The province collector's URL, e.g. https://giamsat.sokhcn.example.vn. Required. "
            "Use https: over http the agent token travels in clear.",
        ),
    ],
    token: Annotated[
        str,
        typer.Option(
            envvar="COMMUNE_AGENT_ENROL_TOKEN",
            help="One-time enrolment token from the province admin ('commune-monitor "
            "enrol-token create'). Required. Risk: a command-line value is visible in the process "
            "list and shell history; prefer the environment variable COMMUNE_AGENT_ENROL_TOKEN.",
        ),
    ],
    hostname: Annotated[
        str | None,
        typer.Option(help="Name this PC is listed under at the collector. Default: host name."),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            help="PEM file of the CA that signed the collector's certificate; trusted instead of "
            "the system store, now and for 'run' (stored with the identity). Default: none.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing identity. Default off. Risk: the old agent id stops "
            "reporting (revoke it at the collector); spooled reports are sent under the new id.",
        ),
    ] = False,
) -> None:
    """Join this PC to the province collector and store its identity (owner-only file)."""
    from agent.identity import enrol as do_enrol
    from agent.settings import tls_context

    settings = ctx.ensure_object(_Context).settings()
    path = settings.identity_path
    if path.exists() and not force:
        _fail(
            f"already enrolled ({path} exists); add --force to replace the identity",
            EXIT_FAILED,
        )
    if ca_file is not None and not ca_file.is_file():
        _fail(f"--ca-file: {ca_file} does not exist")
    try:
        verify = tls_context(settings, ca_file)
        identity = asyncio.run(
            do_enrol(
                server,
                token,
                path=path,
                hostname=hostname,
                ca_file=ca_file.resolve() if ca_file else None,
                verify=verify,
                http_timeout=settings.http_timeout_seconds,
            )
        )
    except EnrolError as exc:
        _fail(str(exc), EXIT_BAD_INPUT if exc.field or exc.status in (401, 422) else EXIT_FAILED)
    except (OSError, AgentError) as exc:
        _fail(str(exc), EXIT_FAILED)
    typer.echo(
        f"enrolled: agent {identity.agent_id}, commune {identity.commune_code}, "
        f"collector {identity.server_url}\nidentity stored in {path} (owner-only)"
    )


# ---------------------------------------------------------------------------- run


def _load_identity(settings: AgentSettings) -> Identity:
    from agent.identity import load_identity

    try:
        return load_identity(settings.identity_path)
    except IdentityError as exc:
        _fail(str(exc), EXIT_FAILED)


@dataclass(frozen=True)
class _OnceOutcome:
    config_source: str
    runs: list[CheckRun]
    sent: int
    send_error: str | None
    depth: int


async def _once(settings: AgentSettings, identity: Identity) -> _OnceOutcome:
    from agent.runner import AgentRunner, make_client

    async with make_client(settings, identity) as client:
        runner = AgentRunner(settings, identity, client=client)
        try:
            await runner.poll_config()
            runs = await runner.run_checks_once()
            runner.heartbeat()
            outcome = await runner.send_pending()
            return _OnceOutcome(
                config_source=runner.state.config_source,
                runs=runs,
                sent=outcome.sent,
                send_error=outcome.error,
                depth=runner.spool.stats().depth,
            )
        finally:
            runner.close()


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Fetch the central configuration, run every check once, send everything "
            "spooled, and exit (1 if the collector could not be reached: the reports stay in the "
            "spool). Default off: run as a service.",
        ),
    ] = False,
    max_seconds: Annotated[
        float | None,
        typer.Option(
            min=1,
            max=31_536_000,
            help="Stop by itself after this many seconds, as on SIGTERM (trials, benchmarks). "
            "Default: run until stopped.",
        ),
    ] = None,
) -> None:
    """Run the agent service in the foreground until stopped (systemd, NSSM, Task Scheduler).

    Measures on schedule, spools every report on disk first, sends them to the collector and
    applies central configuration changes without a restart. SIGTERM or Ctrl+C stops it; unsent
    reports stay in the spool for the next start.
    """
    if once and max_seconds is not None:
        _fail("--once and --max-seconds cannot be used together")
    obj = ctx.ensure_object(_Context)
    settings = obj.settings()
    identity = _load_identity(settings)
    if not once and obj.exec_service and os.name == "posix" and sys.executable:
        from agent.service import exec_service

        try:
            exec_service(settings, max_seconds)  # on success this process image is gone
        except OSError as exc:
            log.warning(
                "cannot start a separate service process; running in this one",
                extra={"error": str(exc)},
            )
    try:
        if not once:
            from agent.service import serve

            asyncio.run(serve(settings, identity, max_seconds))
            return
        outcome = asyncio.run(_once(settings, identity))
    except (OSError, AgentError, sqlite3.Error) as exc:
        _fail(f"agent stopped: {exc}", EXIT_FAILED)
    failed = [item for item in outcome.runs if not item.ok]
    typer.echo(
        f"ran {len(outcome.runs)} checks ({len(failed)} failed), configuration "
        f"{outcome.config_source}; sent {outcome.sent} reports, {outcome.depth} left in the spool"
    )
    for item in failed:
        typer.secho(f"  {item.name} ({item.check}): FAILED (LỖI) — {item.error}", err=True)
    if outcome.send_error is not None:
        _fail(
            f"could not send to the collector (reports stay in the spool): {outcome.send_error}",
            EXIT_FAILED,
        )


# ---------------------------------------------------------------------------- check


def _config_for_check(settings: AgentSettings) -> tuple[AgentConfig, str]:
    from agent.agent_config import default_agent_config
    from agent.identity import load_identity
    from agent.state import load_cached_config

    try:
        load_identity(settings.identity_path)
    except NotEnrolled:
        return default_agent_config(), "default (not enrolled)"
    except IdentityError as exc:
        typer.secho(f"note: {exc}; using the default configuration", err=True)
        return default_agent_config(), "default (identity unreadable)"
    cached = load_cached_config(settings.central_config_path)
    if cached is None:
        return default_agent_config(), "default (no central configuration received yet)"
    return cached.config, f"central (etag {cached.etag})"


async def _run_selected(config: AgentConfig, names: list[str], time_limit: float) -> list[CheckRun]:
    from agent.check_run import build_check, run_check
    from agent.clock import SystemClock

    clock = SystemClock()
    runs = []
    for name in names:
        spec = config.checks[name]
        # No state_dir: a technician's one-off run must not touch the service's state files.
        check = build_check(name, spec, clock=clock, state_dir=None)
        runs.append(await run_check(name, spec, check, clock=clock, time_limit=time_limit))
    return runs


def _select(config: AgentConfig, wanted: list[str]) -> list[str]:
    if not wanted:
        return list(config.checks)
    selected = []
    for item in wanted:
        matches = [n for n, s in config.checks.items() if item in (n, s.check)]
        if not matches:
            configured = ", ".join(f"{n} ({s.check})" for n, s in config.checks.items())
            _fail(f"--check: {item!r} is not configured here; configured: {configured}")
        selected += [m for m in matches if m not in selected]
    return selected


@app.command()
def check(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Option(
            "--check",
            help="Run only this check: a configured name (e.g. signing) or a check type (host, "
            "http_probe, local_service, ping, snmp). Repeatable. Default: every configured check.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the raw results as JSON instead of a table. Default off."
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            min=1,
            max=600,
            help="Give up on a check after this many seconds. Default 60.",
        ),
    ] = 60.0,
) -> None:
    """Run every configured check once now and print what it measured (nothing is sent).

    Uses the central configuration last received if this PC is enrolled, else the default one.
    Exits 1 if a check could not run (its error is shown); a target that is down is a figure,
    not a failure.
    """
    settings = ctx.ensure_object(_Context).settings()
    config, source = _config_for_check(settings)
    selected = _select(config, names or [])
    runs = asyncio.run(_run_selected(config, selected, timeout))
    if as_json:
        payload = {
            "configuration": source,
            "checks": [
                {
                    "name": run.name,
                    "check": run.check,
                    "ok": run.ok,
                    "error": run.error,
                    "duration_seconds": run.duration_seconds,
                    "measured_at": run.measured_at.isoformat(),
                    "devices": [d.model_dump(mode="json") for d in run.devices],
                }
                for run in runs
            ],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print_runs(runs, source)
    if not all(run.ok for run in runs):
        raise typer.Exit(code=EXIT_FAILED)


# ---------------------------------------------------------------------------- status


def _status_data(settings: AgentSettings) -> dict[str, Any]:
    from agent.identity import load_identity
    from agent.spool import Spool
    from agent.state import load_state

    data: dict[str, Any] = {"data_dir": str(settings.data_dir)}
    try:
        identity = load_identity(settings.identity_path)
        data["identity"] = {
            "agent_id": identity.agent_id,
            "commune_code": identity.commune_code,
            "server_url": settings.server_url or identity.server_url,
            "enrolled_at": identity.enrolled_at.isoformat(),
        }
    except IdentityError as exc:
        data["identity"] = None
        data["identity_error"] = str(exc)
    data["spool"] = None
    if settings.spool_path.exists():
        try:
            spool = Spool(settings.spool_path, readonly=True)
            try:
                stats = spool.stats()
            finally:
                spool.close()
            data["spool"] = {
                "depth": stats.depth,
                "bytes": stats.bytes,
                "oldest_seq": stats.oldest_seq,
                "oldest_measured_at": (
                    stats.oldest_measured_at.isoformat() if stats.oldest_measured_at else None
                ),
                "next_seq": stats.next_seq,
                "acked_seq": stats.acked_seq,
                "dropped_total": stats.dropped_total,
            }
        except sqlite3.Error as exc:
            data["spool_error"] = f"cannot read {settings.spool_path}: {exc}"
    data["state"] = load_state(settings.state_path).model_dump(mode="json")
    return data


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the status as JSON. Default off.")
    ] = False,
) -> None:
    """Show the agent's identity, spool (depth, oldest, drops), last ack and last errors.

    Reads the service's files without changing them; run it as the service user or an
    administrator (the folder is private).
    """
    settings = ctx.ensure_object(_Context).settings()
    data = _status_data(settings)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print_status(data)


def _keep_httpx_cli_out() -> None:
    # httpx imports its optional command-line client (rich, click, pygments: ~4.5 MiB resident)
    # whenever those are installed, and typer installs them. The agent never uses it; a None
    # entry makes that import fail, and httpx then falls back to a stub.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main() -> None:
    """Entry point of the ``commune-agent`` console script."""
    _keep_httpx_cli_out()
    app(obj=_Context(exec_service=True))
