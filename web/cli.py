"""``commune-monitor users …``: console accounts (create the first admin, list users).

Registered by ``province.cli`` as a sub-app, so the global options (``--database-url``,
``--config``, ``--data-dir``) choose the store.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agent.clock import SystemClock
from alerts.errors import AlertsError
from alerts.routing import load_routing
from collector.cli_support import cli_actor, fail, settings_of, store
from collector.db import make_engine
from web import accounts
from web.accounts import Role
from web.errors import AccountError

app = typer.Typer(
    help="Tài khoản trang quản trị web (web console accounts): create, list.",
    no_args_is_help=True,
)


@app.command("create")
def users_create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, . _ -")],
    role: Annotated[
        Role,
        typer.Option(
            help="admin (everything), dost (province view, reports problems), vendor (one "
            "contract's tickets; needs --owner), finance (register and budget plan), commune "
            "(commune staff: reports problems and sees its communes' tickets; needs --commune)."
        ),
    ],
    owner: Annotated[
        str | None,
        typer.Option(help="For --role vendor: the owner id in routing.yaml whose tickets it sees."),
    ] = None,
    commune: Annotated[
        list[str] | None,
        typer.Option(
            help="For --role commune: a commune code (5 digits) it reports for; repeat the "
            "option, or give several separated by commas."
        ),
    ] = None,
    display_name: Annotated[
        str, typer.Option(help="Name shown in the console and the audit log; default: username.")
    ] = "",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 10 characters; asked without echo when not given. Giving it on the "
            "command line leaves it in the shell history: prefer the prompt.",
        ),
    ] = "",
) -> None:
    """Create a console user (e.g. the first admin)."""
    settings = settings_of(ctx)
    known: frozenset[str] | None = None
    if role is Role.VENDOR:
        try:
            known = frozenset(load_routing(settings.alerts.routing_file).owners)
        except AlertsError as exc:
            fail(str(exc))
    engine = make_engine(settings)
    try:
        user = accounts.create_user(
            engine,
            username,
            password,
            role,
            SystemClock().now(),
            owner=owner,
            display_name=display_name,
            known_owners=known,
            # The audit log names the account that ran the command.
            actor=cli_actor(),
            communes=[code for text in commune or [] for code in accounts.parse_communes(text)],
        )
    except AccountError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    scope = f", owner {user.owner}" if user.owner else ""
    scope += f", communes {', '.join(user.communes)}" if user.communes else ""
    typer.echo(f"created user {user.username} (role {user.role.value}{scope})")


@app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every console user with role and owner."""
    with store(ctx) as engine:
        for user in accounts.list_users(engine):
            scope = user.owner or ",".join(user.communes) or "-"
            typer.echo(f"{user.username}\t{user.role.value}\t{scope}\t{user.display_name}")
