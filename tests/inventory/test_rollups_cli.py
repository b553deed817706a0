"""``commune-monitor inventory rollups rebuild`` (inventory/rollups_cli.py) on SQLite and
PostgreSQL: it rebuilds with progress, says what it did in both languages, and refuses bad
options by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from typer.testing import CliRunner

from agent.vntime import local_date, local_midnight
from inventory.rollups import decode_histogram
from inventory.schema import inventory_rollups
from province.cli import app
from tests.inventory.rollup_history import COMMUNE, History, rollup_rows

runner = CliRunner(env={"COLUMNS": "220"})


def test_the_command_rebuilds_with_progress_and_refuses_bad_days(
    engine: Engine, store_url: str
) -> None:
    # The command reads the real clock: a report of an hour ago.
    history = History(engine, end=datetime.now(UTC).replace(microsecond=0))
    history.enrol("PC-A")
    history.send("PC-A", history.now - timedelta(hours=1), memory=66.0)
    history.process()
    with engine.begin() as conn:
        conn.execute(delete(inventory_rollups))
    result = runner.invoke(
        app, ["--database-url", store_url, "inventory", "rollups", "rebuild", "--days", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "1 journal entries" in result.output
    assert "Đã tính lại" in result.output
    (row,) = rollup_rows(engine).values()
    assert (row["commune_code"], row["device_id"]) == (COMMUNE, "PC-A")
    assert decode_histogram(row["memory_hist"]) == {66: 1}
    for bad in ("0", "400", "many"):
        refused = runner.invoke(
            app, ["--database-url", store_url, "inventory", "rollups", "rebuild", "--days", bad]
        )
        assert refused.exit_code == 2, refused.output
        assert "--days" in refused.output
    helped = runner.invoke(app, ["inventory", "rollups", "rebuild", "--help"])
    assert "journal_retention_days" in helped.output


def test_without_days_the_journals_retention_is_rebuilt(engine: Engine, store_url: str) -> None:
    history = History(engine, end=datetime.now(UTC).replace(microsecond=0))
    history.enrol("PC-A")
    history.send("PC-A", history.now - timedelta(days=5), memory=40.0)
    # Today in Vietnam, whatever the hour the suite runs: an hour ago is yesterday before 01:00.
    today = local_midnight(local_date(history.now))
    history.send("PC-A", max(today, history.now - timedelta(hours=1)), memory=70.0)
    history.process()
    with engine.begin() as conn:
        conn.execute(delete(inventory_rollups))
    result = runner.invoke(app, ["--database-url", store_url, "inventory", "rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "2 journal entries" in result.output  # the default 7 days reach the older report
    assert len(rollup_rows(engine)) == 2
    short = runner.invoke(
        app, ["--database-url", store_url, "inventory", "rollups", "rebuild", "--days", "1"]
    )
    assert short.exit_code == 0, short.output
    assert "1 journal entries" in short.output


def test_the_group_without_a_command_shows_its_help() -> None:
    shown = runner.invoke(app, ["inventory", "rollups"])
    assert "rebuild" in shown.output
    assert "daily rollups" in shown.output
