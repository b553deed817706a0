"""What every sub-command shares (collector/cli_support.py): settings from the global options
or the environment, a store disposed afterwards, refusals as ``error:`` with exit status 2."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from collector import cli_support


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context, data_dir: Path | None = None) -> None:
        if data_dir is not None:
            ctx.obj = cli_support.CliContext(overrides={"data_dir": data_dir})

    @app.command()
    def where(ctx: typer.Context) -> None:
        settings = cli_support.settings_of(ctx, heartbeat_seconds=42)
        typer.echo(f"{settings.data_dir} {settings.heartbeat_seconds:g}")

    @app.command()
    def refuse() -> None:
        cli_support.fail("no such ticket 7")

    @app.command()
    def bad(ctx: typer.Context) -> None:
        cli_support.settings_of(ctx, heartbeat_seconds=-1)

    @app.command()
    def db(ctx: typer.Context) -> None:
        with cli_support.store(ctx) as engine:
            typer.echo(engine.url.render_as_string())

    return app


def test_the_global_options_reach_every_command(tmp_path: Path) -> None:
    runner = CliRunner()
    given = runner.invoke(_app(), ["--data-dir", str(tmp_path), "where"])
    assert given.exit_code == 0, given.output
    assert given.output.strip() == f"{tmp_path} 42"
    stored = runner.invoke(_app(), ["--data-dir", str(tmp_path), "db"])
    assert stored.exit_code == 0, stored.output
    assert str(tmp_path) in stored.output


def test_refusals_are_an_error_line_and_status_2(tmp_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(_app(), ["refuse"])
    assert refused.exit_code == cli_support.EXIT_BAD_INPUT == 2
    assert "error: no such ticket 7" in refused.output
    bad = runner.invoke(_app(), ["--data-dir", str(tmp_path), "bad"])
    assert bad.exit_code == 2
    assert "error: invalid settings:" in bad.output
    assert "heartbeat_seconds" in bad.output


def test_the_actor_is_the_command_lines_user(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli_support.cli_actor() == f"cli:{getpass.getuser()}"

    def no_user() -> str:
        raise KeyError("uid 1234 has no name")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert cli_support.cli_actor() == "cli:unknown"
