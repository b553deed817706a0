"""``commune-monitor``: the province-side command (collector, store, enrolment)."""

from __future__ import annotations

import logging
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from agent.clock import SystemClock
from alerts.calendar_cli import app as calendar_app
from alerts.cli import app as tickets_app
from alerts.windows_cli import app as maintenance_app
from collector import agent_configs, agents, audit, budgets, communes, devices
from collector.cli_support import CliContext, cli_actor, fail, settings_of, store
from collector.errors import CollectorError
from collector.settings import Settings
from dashboards.cli import app as dashboards_app
from inventory.cli import app as inventory_app
from province import migrate
from province.backup_cli import backup_command, restore_command
from province.report_cli import app as report_app
from web.cli import app as users_app

app = typer.Typer(
    help="commune-monitor: monitoring, tickets and upgrade planning for commune centres.\n\n"
    "Settings come from (lowest to highest): defaults, a TOML file (--config), environment "
    "variables COMMUNE_MONITOR_<SETTING> (e.g. COMMUNE_MONITOR_DATABASE_URL), and options.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The state store's schema.", no_args_is_help=True)
communes_app = typer.Typer(
    help="Provinces and communes (the 2025 two-level list).", no_args_is_help=True
)
enrol_app = typer.Typer(help="One-time tokens that let a new agent join.", no_args_is_help=True)
agents_app = typer.Typer(
    help="Enrolled agents: list, revoke, rotate, configure.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(communes_app, name="communes")
app.add_typer(enrol_app, name="enrol-token")
app.add_typer(agents_app, name="agents")
# The dashboards sub-app imports grafana-foundation-sdk only when one of its commands runs.
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(inventory_app, name="inventory")
app.add_typer(tickets_app, name="tickets")
app.add_typer(calendar_app, name="calendar")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(users_app, name="users")
# Official monthly/quarterly reports (issue 22); backup and restore of the store.
app.add_typer(report_app, name="report")
app.command("backup")(backup_command)
app.command("restore")(restore_command)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML file of settings (keys as in the environment, lowercase)."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of the embedded SQLite store. Default ./commune-monitor-data."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL of the store, e.g. postgresql+psycopg://postgres@127.0.0.1/cm. "
            "Default: SQLite in --data-dir."
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Logging level: DEBUG, INFO, WARNING.")] = "INFO",
) -> None:
    """Global options, shared by every command."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = CliContext(config, {"data_dir": data_dir, "database_url": database_url})


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the store's schema to the newest version (safe to repeat)."""
    with store(ctx) as engine:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
        if after != before:
            _audit(engine, "schema_upgraded", "store", f"{before or 'empty'} -> {after}")
        typer.echo(f"schema at {after} ({engine.url.render_as_string()})")


def _audit(engine: Engine, action: str, target: str, detail: str = "") -> None:
    """One audit line for a change made from this command line."""
    with engine.begin() as conn:
        audit.record(conn, SystemClock().now(), cli_actor(), action, target, detail)


@communes_app.command("load")
def communes_load(
    ctx: typer.Context,
    csv: Annotated[
        Path, typer.Option(help="CSV of units (columns as in vn_units_2025.csv). Default: bundled.")
    ] = communes.BUNDLED_UNITS,
    province: Annotated[
        str | None, typer.Option(help="Load only this province code (2 digits), e.g. 37.")
    ] = None,
) -> None:
    """Load (or refresh) provinces and communes; idempotent."""
    try:
        rows = communes.read_units(csv, province)
        with store(ctx) as engine:
            result = communes.load_units(engine, rows)
            _audit(engine, "communes_loaded", f"province:{province or 'all'}", str(csv)[:200])
    except CollectorError as exc:
        fail(str(exc))
    typer.echo(f"store holds {result.provinces} provinces and {result.communes} communes")


@enrol_app.command("create")
def enrol_token_create(
    ctx: typer.Context,
    commune: Annotated[str, typer.Option("--commune", help="Commune code (5 digits).")],
    ttl_hours: Annotated[
        float | None, typer.Option(help="Hours the token stays usable. Default 168 (7 days).")
    ] = None,
    note: Annotated[str, typer.Option(help="Free text kept with the token, e.g. the PC.")] = "",
) -> None:
    """Create a one-time enrolment token for an agent in COMMUNE; printed once, store it safely."""
    settings = settings_of(ctx)
    ttl = timedelta(hours=ttl_hours or settings.enrol_token_ttl_hours)
    try:
        with store(ctx) as engine:
            token = agents.create_enrol_token(
                engine, commune, SystemClock().now(), ttl, note, actor=cli_actor()
            )
    except CollectorError as exc:
        fail(str(exc))
    typer.echo(token)


@agents_app.command("list")
def agents_list(
    ctx: typer.Context,
    commune: Annotated[str | None, typer.Option(help="Only agents of this commune code.")] = None,
) -> None:
    """List enrolled agents with their last contact and acknowledged sequence."""
    with store(ctx) as engine:
        rows = agents.list_agents(engine, commune)
    typer.echo(f"{'AGENT':<22} {'COMMUNE':<8} {'HOST':<20} {'ACKED':>8} {'SKEW s':>8}  LAST SEEN")
    for row in rows:
        status = (
            "revoked"
            if row.revoked_at
            else (row.last_seen_at.isoformat() if row.last_seen_at else "never")
        )
        typer.echo(
            f"{row.agent_id:<22} {row.commune_code:<8} {row.hostname[:20]:<20} "
            f"{row.acked_seq:>8} {row.clock_skew_seconds:>8.1f}  {status}"
        )
    typer.echo(f"{len(rows)} agent(s)")


@agents_app.command("revoke")
def agents_revoke(ctx: typer.Context, agent_id: str) -> None:
    """Revoke AGENT_ID's token; its next request is refused."""
    try:
        with store(ctx) as engine:
            agents.revoke(engine, agent_id, SystemClock().now(), actor=cli_actor())
    except CollectorError as exc:
        fail(str(exc))
    typer.echo(f"revoked {agent_id}")


@agents_app.command("rotate-token")
def agents_rotate(ctx: typer.Context, agent_id: str) -> None:
    """Give AGENT_ID a new token (printed once); the old one stops working at once."""
    try:
        with store(ctx) as engine:
            typer.echo(
                agents.rotate_token(engine, agent_id, SystemClock().now(), actor=cli_actor())
            )
    except CollectorError as exc:
        fail(str(exc))


@agents_app.command("show")
def agents_show(ctx: typer.Context, agent_id: str) -> None:
    """Show AGENT_ID: its use of the budgets (settings.budgets) and its last refused report."""
    settings = settings_of(ctx)
    with store(ctx) as engine:
        row = next((r for r in agents.list_agents(engine) if r.agent_id == agent_id), None)
        if row is None:
            fail(f"AGENT_ID: no agent {agent_id!r}")
        use = budgets.agent_usage(engine, agent_id, row.commune_code)
    limits = settings.budgets
    typer.echo(f"agent {row.agent_id} of commune {row.commune_code} ({row.hostname or '-'})")
    typer.echo(f"devices       {use.devices:>8} of {limits.devices_per_agent}")
    typer.echo(f"sample names  {use.sample_names:>8} of {limits.sample_names_per_agent}")
    typer.echo(f"series        {use.series:>8} of {limits.series_per_agent}")
    if use.largest_name is not None:
        name, series = use.largest_name
        typer.echo(f"largest name  {series:>8} of {limits.series_per_name_per_agent} ({name})")
    typer.echo(f"refused reports {row.refusals}")
    if row.last_refusal_at is not None:
        typer.echo(f"last refused  {row.last_refusal_at.isoformat()}: {row.last_refusal}")


@agents_app.command("move-device")
def agents_move_device(
    ctx: typer.Context,
    commune: Annotated[str, typer.Argument(help="Commune code (5 digits) of the device.")],
    device_id: Annotated[str, typer.Argument(help="The device id, as agents report it.")],
    to: Annotated[str, typer.Option("--to", help="Agent id that reports the device from now on.")],
) -> None:
    """Hand DEVICE_ID of COMMUNE to another agent of that commune (audited).

    A device belongs to the first agent that reported it; reports of it from any other agent are
    refused (409) until it is moved here, e.g. when a PC is replaced and its new agent reports
    the same device. Risk: the previous agent's reports of it are refused from now on.
    """
    try:
        with store(ctx) as engine:
            moved = devices.move_device(
                engine, commune, device_id, to, SystemClock().now(), cli_actor()
            )
    except CollectorError as exc:
        fail(str(exc))
    typer.echo(
        f"device {moved.device_id} of {moved.commune_code}: {moved.from_agent} -> {moved.to_agent}"
    )


@agents_app.command("config-set")
def agents_config_set(
    ctx: typer.Context,
    agent_id: Annotated[str, typer.Argument(help='Agent id, or "*" for the default of all.')],
    file: Annotated[Path, typer.Argument(help="YAML or JSON check configuration.")],
) -> None:
    """Set an agent's check configuration from FILE; agents pick it up without restart."""
    try:
        config = agent_configs.parse_config(file.read_text(encoding="utf-8"), str(file))
        with store(ctx) as engine:
            stored = agent_configs.set_config(
                engine, agent_id, config, SystemClock().now(), actor=cli_actor()
            )
    except (CollectorError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"configuration stored for {agent_id} (etag {stored.etag})")


@app.command("process")
def process(ctx: typer.Context) -> None:
    """Consume the journal into current state, without serving HTTP (pair with serve
    --no-processor to put ingest and processing on separate cores)."""
    import asyncio

    from province.service import build_service

    settings = settings_of(ctx, run_processor=True)
    _tune_malloc(settings)
    service = build_service(settings)

    async def run() -> None:
        # Everything of serve but HTTP: the processor, the time-series sink's sender and the
        # alert timers (silence sweeps, notification outbox). With the processor alone the sink
        # never sent its backlog and no notification ever left (issue 11 drill).
        # Without ingest in this process nothing wakes the processor: it polls briefly.
        async with service.running(processor_idle_seconds=0.2):
            await asyncio.Event().wait()

    from collector.gc_tuning import tuned_gc

    try:
        with tuned_gc():
            asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        service.engine.dispose()


def _tune_malloc(settings: Settings) -> None:
    # Before any thread starts: arenas made earlier would stay.
    if settings.malloc_tuning:
        from collector.malloc_tuning import limit_malloc_retention

        limit_malloc_retention()


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address. Default 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port. Default 8080.")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="uvicorn worker processes; one holds the journal lease.")
    ] = 1,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Run 'db upgrade' before serving.")
    ] = True,
    processor: Annotated[
        bool,
        typer.Option(
            "--processor/--no-processor",
            help="Consume the journal in this process too (default). With --no-processor, run "
            "'commune-monitor process' beside it.",
        ),
    ] = True,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(
            help="PEM certificate (chain) to serve HTTPS with; needs --ssl-keyfile. Default: "
            "plain HTTP. Risk: without TLS (here or at a reverse proxy) agent tokens cross the "
            "network in clear.",
        ),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="PEM private key of --ssl-certfile. Default: none.")
    ] = None,
) -> None:
    """Run the collector's HTTP service (ingest API, /metrics, health) until Ctrl-C."""
    import uvicorn

    context = ctx.ensure_object(CliContext)
    settings = context.settings(
        host=host,
        port=port,
        run_processor=processor,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    for name, path in (
        ("ssl_certfile", settings.ssl_certfile),
        ("ssl_keyfile", settings.ssl_keyfile),
    ):
        if path is not None and not path.is_file():
            fail(f"--{name.replace('_', '-')}: {path} does not exist")
    _tune_malloc(settings)
    certfile = str(settings.ssl_certfile) if settings.ssl_certfile else None
    keyfile = str(settings.ssl_keyfile) if settings.ssl_keyfile else None
    if migrate_first:
        with store(ctx) as engine:
            migrate.upgrade(engine)
    if workers == 1:
        _serve_here(settings, certfile, keyfile)
        return
    # Worker processes rebuild settings from the environment: hand over what the CLI was told.
    for key, value in {**context.overrides, "run_processor": processor}.items():
        if value is not None:
            os.environ[f"COMMUNE_MONITOR_{key.upper()}"] = str(value)
    if context.config_file is not None:
        os.environ["COMMUNE_MONITOR_CONFIG_FILE"] = str(context.config_file)
    uvicorn.run(
        "province.asgi:app_factory",
        factory=True,
        # Each worker imports the class and app_factory sets its deadline from the settings.
        http="collector.http_protocol:HeadDeadlineProtocol",
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="warning",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        proxy_headers=False,
    )


def _serve_here(settings: Settings, certfile: str | None, keyfile: str | None) -> None:
    """Serve in this process (one worker)."""
    import uvicorn

    from collector.http_protocol import HeadDeadlineProtocol
    from province.app import create_app
    from province.service import build_service

    service = build_service(settings)
    HeadDeadlineProtocol.configure(
        settings.http_head_timeout_seconds, service.metrics.head_timeouts.inc
    )
    HeadDeadlineProtocol.configure_head_bound(
        settings.http.max_head_bytes,
        service.metrics.request_bounds.labels(bound="head").inc,
    )
    uvicorn.run(
        create_app(service),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        http=HeadDeadlineProtocol,
        # The console's login limits read X-Forwarded-For only from the trusted proxies
        # (web_trusted_proxies); uvicorn would otherwise rewrite the peer for any local one.
        proxy_headers=False,
    )


# The simulated province (issue 5); its options live in province/demo_cli.py, heavy imports lazy.
from province.demo_cli import demo_command  # noqa: E402

app.command("demo")(demo_command)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
