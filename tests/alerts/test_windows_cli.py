"""``commune-monitor maintenance`` (alerts/windows_cli.py): create, list, bad options named."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from collector.schema import audit_log
from collector.settings import Settings
from province.cli import app as cli


def test_windows_from_the_cli(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    url = ["--database-url", settings.effective_database_url]
    made = runner.invoke(
        cli,
        [
            *url,
            "maintenance",
            "create",
            "--reason",
            "Sao lưu hằng tuần",
            "--start",
            "2026-12-01 00:00",
            "--end",
            "2027-12-01 00:00",
            "--days",
            "6",
            "--at",
            "22:00",
            "--minutes",
            "180",
            "--system",
            "motcua",
        ],
    )
    assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, [*url, "maintenance", "list"])
    assert "weekly days 6 at 22:00 for 180 min" in listed.output
    assert "| systems motcua" in listed.output
    bad = runner.invoke(
        cli,
        [*url, "maintenance", "create", "--reason", "x y z", "--start", "soon", "--end", "later"],
    )
    assert bad.exit_code == 2
    assert "--start" in bad.output
    with engine.connect() as conn:
        (author,) = conn.execute(select(audit_log.c.actor)).scalars()
    assert author.startswith("cli")
    assert json.loads(json.dumps(author))
