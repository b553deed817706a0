"""``commune-monitor``: the province-side command (collector, store, enrolment)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy import Engine

from agent.checks.base import SystemClock
from alerts.cli import app as tickets_app
from collector import agent_configs, agents, communes, migrate
from collector.db import make_engine
from collector.errors import CollectorError
from collector.settings import Settings, load_settings
from dashboards.cli import app as dashboards_app
from inventory.cli import app as inventory_app
from web.cli import app as users_app

BUNDLED_UNITS = Path(__file__).parent / "data" / "vn_units_2025.csv"

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
app.add_typer(users_app, name="users")


@dataclass
class _Context:
    config_file: Path | None
    overrides: dict[str, object]

    def settings(self, **more: object) -> Settings:
        try:
            return load_settings(self.config_file, **{**self.overrides, **more})
        except (ValidationError, FileNotFoundError) as exc:
            _fail(f"invalid settings: {exc}")


@contextlib.contextmanager
def _store(ctx: typer.Context) -> Iterator[Engine]:
    """An engine on the configured store, disposed (connections closed) afterwards."""
    engine = make_engine(ctx.ensure_object(_Context).settings())
    try:
        yield engine
    finally:
        engine.dispose()


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


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
    ctx.obj = _Context(config, {"data_dir": data_dir, "database_url": database_url})


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the store's schema to the newest version (safe to repeat)."""
    with _store(ctx) as engine:
        migrate.upgrade(engine)
        typer.echo(
            f"schema at {migrate.current_revision(engine)} ({engine.url.render_as_string()})"
        )


@communes_app.command("load")
def communes_load(
    ctx: typer.Context,
    csv: Annotated[
        Path, typer.Option(help="CSV of units (columns as in vn_units_2025.csv). Default: bundled.")
    ] = BUNDLED_UNITS,
    province: Annotated[
        str | None, typer.Option(help="Load only this province code (2 digits), e.g. 37.")
    ] = None,
) -> None:
    """Load (or refresh) provinces and communes; idempotent."""
    try:
        rows = communes.read_units(csv, province)
        with _store(ctx) as engine:
            result = communes.load_units(engine, rows)
    except CollectorError as exc:
        _fail(str(exc))
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
    settings = ctx.ensure_object(_Context).settings()
    ttl = timedelta(hours=ttl_hours or settings.enrol_token_ttl_hours)
    try:
        with _store(ctx) as engine:
            token = agents.create_enrol_token(engine, commune, SystemClock().now(), ttl, note)
    except CollectorError as exc:
        _fail(str(exc))
    typer.echo(token)


@agents_app.command("list")
def agents_list(
    ctx: typer.Context,
    commune: Annotated[str | None, typer.Option(help="Only agents of this commune code.")] = None,
) -> None:
    """List enrolled agents with their last contact and acknowledged sequence."""
    with _store(ctx) as engine:
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
        with _store(ctx) as engine:
            agents.revoke(engine, agent_id, SystemClock().now())
    except CollectorError as exc:
        _fail(str(exc))
    typer.echo(f"revoked {agent_id}")


@agents_app.command("rotate-token")
def agents_rotate(ctx: typer.Context, agent_id: str) -> None:
    """Give AGENT_ID a new token (printed once); the old one stops working at once."""
    try:
        with _store(ctx) as engine:
            typer.echo(agents.rotate_token(engine, agent_id))
    except CollectorError as exc:
        _fail(str(exc))


@agents_app.command("config-set")
def agents_config_set(
    ctx: typer.Context,
    agent_id: Annotated[str, typer.Argument(help='Agent id, or "*" for the default of all.')],
    file: Annotated[Path, typer.Argument(help="YAML or JSON check configuration.")],
) -> None:
    """Set an agent's check configuration from FILE; agents pick it up without restart."""
    try:
        config = agent_configs.parse_config(file.read_text(encoding="utf-8"), str(file))
        with _store(ctx) as engine:
            stored = agent_configs.set_config(engine, agent_id, config, SystemClock().now())
    except (CollectorError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"configuration stored for {agent_id} (etag {stored.etag})")


@app.command("process")
def process(ctx: typer.Context) -> None:
    """Consume the journal into current state, without serving HTTP (pair with serve
    --no-processor to put ingest and processing on separate cores)."""
    import asyncio

    from collector.service import build_service

    settings = ctx.ensure_object(_Context).settings(run_processor=True)
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

    context = ctx.ensure_object(_Context)
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
            _fail(f"--{name.replace('_', '-')}: {path} does not exist")
    _tune_malloc(settings)
    certfile = str(settings.ssl_certfile) if settings.ssl_certfile else None
    keyfile = str(settings.ssl_keyfile) if settings.ssl_keyfile else None
    if migrate_first:
        with _store(ctx) as engine:
            migrate.upgrade(engine)
    if workers == 1:
        from collector.api import create_app
        from collector.http_protocol import HeadDeadlineProtocol
        from collector.service import build_service

        service = build_service(settings)
        HeadDeadlineProtocol.configure(
            settings.http_head_timeout_seconds, service.metrics.head_timeouts.inc
        )
        uvicorn.run(
            create_app(service),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            http=HeadDeadlineProtocol,
        )
        return
    # Worker processes rebuild settings from the environment: hand over what the CLI was told.
    for key, value in {**context.overrides, "run_processor": processor}.items():
        if value is not None:
            os.environ[f"COMMUNE_MONITOR_{key.upper()}"] = str(value)
    if context.config_file is not None:
        os.environ["COMMUNE_MONITOR_CONFIG_FILE"] = str(context.config_file)
    uvicorn.run(
        "collector.asgi:app_factory",
        factory=True,
        # Each worker imports the class and app_factory sets its deadline from the settings.
        http="collector.http_protocol:HeadDeadlineProtocol",
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="warning",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


# The simulated province (issue 5); its options live in collector/demo.py, heavy imports lazy.
from collector.demo import demo_command  # noqa: E402

app.command("demo")(demo_command)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
