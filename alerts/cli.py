"""``commune-monitor tickets …``: report a problem (create), list, show, acknowledge, comment,
resolve, reopen; check rules.

Registered by ``province.cli`` as a sub-app, so the global options (``--database-url``,
``--config``, ``--data-dir``) choose the store and the rules and routing files.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from agent.clock import SystemClock
from agent.vntime import format_local
from alerts import tickets
from alerts.categories import bundled_categories
from alerts.desk import Desk
from alerts.errors import AlertsError
from alerts.intake import ReportIn, ReportInvalid, report_problem
from alerts.routing import load_routing
from alerts.rules import load_rules
from alerts.systems import load_systems
from collector.cli_support import cli_actor, fail, settings_of
from collector.db import make_engine

app = typer.Typer(
    help="Phiếu sự cố: phản ánh, xem, nhận xử lý, ghi chú, đóng, mở lại "
    "(tickets: create, list, show, acknowledge, comment, resolve, reopen).",
    no_args_is_help=True,
)


@contextlib.contextmanager
def _session(ctx: typer.Context) -> Iterator[tuple[Any, Desk]]:
    settings = settings_of(ctx)
    try:
        desk = Desk(
            load_rules(settings.alerts.rules_file),
            load_routing(settings.alerts.routing_file),
            settings.public_url,
        )
    except AlertsError as exc:
        fail(str(exc))
    engine = make_engine(settings)
    try:
        yield engine, desk
    except AlertsError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


def _when(value: datetime | None) -> str:
    return format_local(value) if value is not None else "-"


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
        fail(f"--state: {state!r} is not one of {', '.join(tickets.STATES)}")
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


Actor = Annotated[
    str | None,
    typer.Option(
        help="The person's name for the ticket's history, shown beside the account that runs "
        "the command ('Trần Văn B (cli:root)'). Default: that account, cli:<user>; the audit "
        "log always records the account."
    ),
]


def _actor(name: str | None) -> str:
    """Who the history and the audit log name: the account, and the person if given."""
    account = cli_actor()
    return f"{name.strip()} ({account})"[:100] if name and name.strip() else account


@app.command("ack")
def ack_command(ctx: typer.Context, ticket_id: int, actor: Actor = None) -> None:
    """Nhận xử lý (acknowledge)."""
    with _session(ctx) as (engine, desk):
        ticket = tickets.acknowledge(
            engine, desk, ticket_id, _actor(actor), SystemClock().now(), scope=None
        )
    typer.echo(f"#{ticket_id}: {ticket['state']}")


@app.command("comment")
def comment_command(ctx: typer.Context, ticket_id: int, text: str, actor: Actor = None) -> None:
    """Ghi chú (comment)."""
    if not text.strip():
        fail("TEXT: a comment cannot be empty")
    with _session(ctx) as (engine, desk):
        now = SystemClock().now()
        tickets.comment(engine, desk, ticket_id, _actor(actor), text, now, scope=None)
    typer.echo(f"#{ticket_id}: comment added")


def _noted(
    ctx: typer.Context,
    transition: tickets.NotedTransition,
    ticket_id: int,
    actor: str | None,
    note: str,
) -> dict[str, Any]:
    with _session(ctx) as (engine, desk):
        now = SystemClock().now()
        return transition(engine, desk, ticket_id, _actor(actor), note, now, scope=None)


@app.command("resolve")
def resolve_command(
    ctx: typer.Context, ticket_id: int, note: str = "", actor: Actor = None
) -> None:
    """Đóng phiếu (resolve)."""
    ticket = _noted(ctx, tickets.resolve, ticket_id, actor, note)
    typer.echo(f"#{ticket_id}: {ticket['state']}")


@app.command("reopen")
def reopen_command(ctx: typer.Context, ticket_id: int, note: str = "", actor: Actor = None) -> None:
    """Mở lại (reopen)."""
    ticket = _noted(ctx, tickets.reopen, ticket_id, actor, note)
    typer.echo(f"#{ticket_id}: {ticket['state']} (reopened {ticket['reopen_count']}x)")


def _categories_help() -> str:
    return ", ".join(
        f"{item.id} ({item.name_vi})" + (" needs --message" if item.needs_message else "")
        for item in bundled_categories().items
    )


@app.command("create")
def create_command(
    ctx: typer.Context,
    commune: Annotated[str, typer.Option(help="Commune code (5 digits).")],
    category: Annotated[str, typer.Option(help=f"What happens: {_categories_help()}.")],
    description: Annotated[str, typer.Option(help="What the person says happens.")],
    reporter_name: Annotated[str, typer.Option(help="Who reports it (to call them back).")],
    reporter_phone: Annotated[
        str, typer.Option(help="Their phone number: 8-15 digits, e.g. '0912 345 678'.")
    ],
    device: Annotated[
        str | None, typer.Option(help="Device id, if known (one of the commune's devices).")
    ] = None,
    counter: Annotated[
        str | None, typer.Option(help="The counter, e.g. 'Quầy 3', when the device is unknown.")
    ] = None,
    message: Annotated[
        str, typer.Option(help="The software's error message (required for software_error).")
    ] = "",
    lang: Lang = "vi",
) -> None:
    """Phản ánh sự cố (report a problem people see): opens a ticket routed like any other, or
    joins the open ticket that already covers it ("đã có phiếu #18"). Audited as cli:<user>."""
    fields = {
        "commune_code": commune,
        "category": category,
        "description": description,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
        "device_id": device,
        "counter": counter,
        "message": message,
    }
    try:
        report = ReportIn.model_validate(fields)
    except ValidationError as exc:
        fail(_invalid(exc))
    with _session(ctx) as (engine, desk):
        try:
            intake = report_problem(engine, desk, report, cli_actor(), "cli", SystemClock().now())
        except ReportInvalid as exc:
            fail(f"{_option(exc.field)}: {exc.reason}")
        ticket = tickets.get_ticket(engine, intake.ticket_id)
    typer.echo(intake.message_en if lang == "en" else intake.message_vi)
    typer.echo(f"#{ticket['id']} [{ticket['state']}] {ticket[f'title_{lang}']} → {ticket['owner']}")


# The options' names as typed, for errors (ReportIn names its fields).
_OPTIONS = {"commune_code": "--commune", "device_id": "--device"}


def _option(field: str) -> str:
    """The option that gives a report's field."""
    return _OPTIONS.get(field, "--" + field.replace("_", "-"))


def _invalid(exc: ValidationError) -> str:
    """The first error, naming the option: ``--reporter-phone: '12' is not a phone number``."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "report"
    reason = str(first["msg"]).removeprefix("Value error, ")
    return f"{_option(field)}: {reason}"


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
        fail(str(exc))
    problems = routes.check_environment(os.environ)
    if problems:
        fail("\n".join(problems))
    typer.echo(
        f"ok: {len(loaded.rules)} rules, {len(routes.owners)} owners, {len(routes.routes)} routes, "
        f"{len(central.systems)} systems"
    )
