"""What every ``commune-monitor`` sub-command shares: settings from the global options, a store
engine disposed afterwards, and one way to fail with a message.

``province.cli`` puts a :class:`CliContext` in typer's context from the global options; the
features' sub-apps (``tickets``, ``inventory``, ``users``, ``dashboards``) read it here, so a
sub-command run alone (in a test, with no context) falls back to the environment's settings.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy import Engine

from collector.db import make_engine
from collector.settings import Settings, load_settings

# Bad input (an option, a file, a setting): the exit status of every refusal.
EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with ``code``."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


def cli_actor() -> str:
    """Who changes things from the command line, as the audit log records it: ``cli:<user>``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        user = "unknown"
    return f"cli:{user}"


@dataclass
class CliContext:
    """The global options: a settings file and the values given on the command line."""

    config_file: Path | None = None
    overrides: dict[str, object] = field(default_factory=dict)

    def settings(self, **more: object) -> Settings:
        """Settings from the file, the environment, the global options and ``more``."""
        try:
            return load_settings(self.config_file, **{**self.overrides, **more})
        except (ValidationError, FileNotFoundError) as exc:
            fail(f"invalid settings: {exc}")


def settings_of(ctx: typer.Context, **more: object) -> Settings:
    """The settings a command runs with (the global options', else the environment's)."""
    source = ctx.obj if isinstance(ctx.obj, CliContext) else CliContext()
    return source.settings(**more)


@contextlib.contextmanager
def store(ctx: typer.Context) -> Iterator[Engine]:
    """An engine on the configured store, disposed (connections closed) afterwards."""
    engine = make_engine(settings_of(ctx))
    try:
        yield engine
    finally:
        engine.dispose()
