"""``commune-monitor tickets …``: list, show, acknowledge, comment, resolve, reopen; check rules.

Registered by ``collector.cli`` as a sub-app, so the global options (``--database-url``,
``--config``, ``--data-dir``) choose the store and the rules and routing files.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, Protocol

import typer

from agent.checks.base import SystemClock
from alerts import tickets
from alerts.desk import Desk
from alerts.errors import AlertsError
from alerts.routing import load_routing
from alerts.rules import load_rules
from alerts.systems import load_systems
from alerts.text import local_time
from collector.db import make_engine
from collector.settings import Settings, load_settings

app = typer.Typer(
    help="Phiếu sự cố: xem, nhận xử lý, ghi chú, đóng, mở lại "
    "(tickets: list, show, acknowledge, comment, resolve, reopen).",
    no_args_is_help=True,
)


class _SettingsSource(Protocol):
    """What ``collector.cli`` puts in the context: settings built from the global options."""

    def settings(self, **more: object) -> Settings: ...


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _settings(ctx: typer.Context) -> Settings:
    source: _SettingsSource | None = ctx.obj
    return source.settings() if source is not None else load_settings()


@contextlib.contextmanager
def _session(ctx: typer.Context) -> Iterator[tuple[Any, Desk]]:
    settings = _settings(ctx)
    try:
        desk = Desk(
            load_rules(settings.alerts_rules_file),
            load_routing(settings.alerts_routing_file),
            settings.public_url,
        )
    except AlertsError as exc:
        _fail(str(exc))
    engine = make_engine(settings)
    try:
        yield engine, desk
    except AlertsError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


def _when(value: datetime | None) -> str:
    return local_time(value) if value is not None else "-"


def _print(ticket: dict[str, Any], lang: str) -> None:
    typer.echo(f"#{ticket['id']} [{ticket['state']}] {ticket[f'title_{lang}']}")
    typer.echo(ticket[f"body_{lang}"])
    for entry in ticket.get("history", []):
        note = f" — {entry['note']}" if entry["note"] else ""
        typer.echo(f"  {_when(entry['at'])} {entry['actor']}: {entry['action']}{note}")


Lang = Annotated[str, typer.Option("--lang", help="vi (mặc định) hoặc en.")]


@app.command("list")
def list_command(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    problem_class: Annotated[str | None, typer.Option("--class", help="Problem class.")] = None,
    commune: Annotated[str | None, typer.Option(help="Commune code (5 digits).")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id from routing.yaml.")] = None,
    system: Annotated[
        str | None, typer.Option(help="Central system id from systems.yaml (software tickets).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    lang: Lang = "vi",
) -> None:
    """Danh sách phiếu (tickets), newest first."""
    if state is not None and state not in tickets.STATES:
        _fail(f"--state: {state!r} is not one of {', '.join(tickets.STATES)}")
    with _session(ctx) as (engine, _desk):
        rows = tickets.list_tickets(
            engine,
            tickets.TicketFilter(state, problem_class, commune, owner, limit, system=system),
        )
    for row in rows:
        if as_json:
            typer.echo(json.dumps(row, default=str, ensure_ascii=False))
            continue
        flags = " UNROUTED" if row["unrouted"] else ""
        flags += " SLA!" if row["response_breached"] or row["resolution_breached"] else ""
        typer.echo(
            f"#{row['id']:<5} {row['state']:<12} {row['owner']:<16} {_when(row['started_at'])}"
            f"  {row[f'title_{lang}']}{flags}"
        )


@app.command("show")
def show_command(ctx: typer.Context, ticket_id: int, lang: Lang = "vi") -> None:
    """Một phiếu với lịch sử (one ticket with its history)."""
    with _session(ctx) as (engine, _desk):
        _print(tickets.get_ticket(engine, ticket_id), lang)


Actor = Annotated[str, typer.Option(help="Who does it (name or team).")]


@app.command("ack")
def ack_command(ctx: typer.Context, ticket_id: int, actor: Actor = "cli") -> None:
    """Nhận xử lý (acknowledge)."""
    with _session(ctx) as (engine, desk):
        ticket = tickets.acknowledge(
            engine, desk, ticket_id, actor, SystemClock().now(), scope=None
        )
    typer.echo(f"#{ticket_id}: {ticket['state']}")


@app.command("comment")
def comment_command(ctx: typer.Context, ticket_id: int, text: str, actor: Actor = "cli") -> None:
    """Ghi chú (comment)."""
    if not text.strip():
        _fail("TEXT: a comment cannot be empty")
    with _session(ctx) as (engine, desk):
        tickets.comment(engine, desk, ticket_id, actor, text, SystemClock().now(), scope=None)
    typer.echo(f"#{ticket_id}: comment added")


def _noted(
    ctx: typer.Context,
    transition: tickets.NotedTransition,
    ticket_id: int,
    actor: str,
    note: str,
) -> dict[str, Any]:
    with _session(ctx) as (engine, desk):
        return transition(engine, desk, ticket_id, actor, note, SystemClock().now(), scope=None)


@app.command("resolve")
def resolve_command(
    ctx: typer.Context, ticket_id: int, note: str = "", actor: Actor = "cli"
) -> None:
    """Đóng phiếu (resolve)."""
    ticket = _noted(ctx, tickets.resolve, ticket_id, actor, note)
    typer.echo(f"#{ticket_id}: {ticket['state']}")


@app.command("reopen")
def reopen_command(
    ctx: typer.Context, ticket_id: int, note: str = "", actor: Actor = "cli"
) -> None:
    """Mở lại (reopen)."""
    ticket = _noted(ctx, tickets.reopen, ticket_id, actor, note)
    typer.echo(f"#{ticket_id}: {ticket['state']} (reopened {ticket['reopen_count']}x)")


@app.command("check-rules")
def check_rules_command(
    rules: Annotated[
        Path | None, typer.Option(help="rules.yaml to check (default: the bundled one).")
    ] = None,
    routing: Annotated[
        Path | None, typer.Option(help="routing.yaml to check (default: the bundled one).")
    ] = None,
    systems: Annotated[
        Path | None, typer.Option(help="systems.yaml to check (default: the bundled one).")
    ] = None,
) -> None:
    """Kiểm tra tệp luật, định tuyến và hệ thống (validate rules, routing and systems files).

    Also resolves every channel's ${VARIABLES} from this shell's environment: a variable not
    set is an error naming the owner, the channel and the variable (never a value).
    """
    try:
        loaded = load_rules(rules)
        routes = load_routing(routing)
        central = load_systems(systems)
        routes.check_systems(central.ids, central.source)
    except AlertsError as exc:
        _fail(str(exc))
    problems = routes.check_environment(os.environ)
    if problems:
        _fail("\n".join(problems))
    typer.echo(
        f"ok: {len(loaded.rules)} rules, {len(routes.owners)} owners, {len(routes.routes)} routes, "
        f"{len(central.systems)} systems"
    )
