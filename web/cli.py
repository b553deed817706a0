"""``commune-monitor users …``: console accounts (create the first admin, list users).

Registered by ``collector.cli`` as a sub-app, so the global options (``--database-url``,
``--config``, ``--data-dir``) choose the store.
"""

from __future__ import annotations

from typing import Annotated, NoReturn, Protocol

import typer

from agent.checks.base import SystemClock
from alerts.errors import AlertsError
from alerts.routing import load_routing
from collector.db import make_engine
from collector.settings import Settings, load_settings
from web import accounts
from web.accounts import Role
from web.errors import AccountError

app = typer.Typer(
    help="Tài khoản trang quản trị web (web console accounts): create, list.",
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


@app.command("create")
def users_create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, . _ -")],
    role: Annotated[
        Role,
        typer.Option(
            help="admin (everything), dost (read-only province view), vendor (one contract's "
            "tickets; needs --owner), finance (register and budget plan)."
        ),
    ],
    owner: Annotated[
        str | None,
        typer.Option(help="For --role vendor: the owner id in routing.yaml whose tickets it sees."),
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
    settings = _settings(ctx)
    known: frozenset[str] | None = None
    if role is Role.VENDOR:
        try:
            known = frozenset(load_routing(settings.alerts_routing_file).owners)
        except AlertsError as exc:
            _fail(str(exc))
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
        )
    except AccountError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    scope = f", owner {user.owner}" if user.owner else ""
    typer.echo(f"created user {user.username} (role {user.role.value}{scope})")


@app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every console user with role and owner."""
    engine = make_engine(_settings(ctx))
    try:
        for user in accounts.list_users(engine):
            typer.echo(
                f"{user.username}\t{user.role.value}\t{user.owner or '-'}\t{user.display_name}"
            )
    finally:
        engine.dispose()
