"""``commune-monitor backup|restore`` (province/backup_cli.py), on both stores: a round trip
through the commands brings back every row.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from sqlalchemy import Engine, Table, select
from typer.testing import CliRunner

from alerts.schema import tickets
from collector.db import current_revision, make_engine
from collector.schema import agents, journal
from collector.settings import load_settings
from inventory.schema import inventory_assets
from province import migrate
from province.backup import MANIFEST
from province.cli import app
from tests.web.support import build_province
from web.schema import users

runner = CliRunner()


def _engine(url: str, tmp_path: Path) -> Engine:
    return make_engine(load_settings(data_dir=tmp_path, database_url=url))


def _rows(engine: Engine, table: Table, *columns: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        picked = [table.c[name] for name in columns]
        return [tuple(row) for row in conn.execute(select(*picked).order_by(*picked))]


def test_cli_round_trip_brings_back_every_row(
    engine: Engine, store_url: str, empty_url: str, tmp_path: Path
) -> None:
    build_province(engine, tmp_path)
    file = tmp_path / "backup.zip"
    made = runner.invoke(app, ["--database-url", store_url, "backup", str(file)])
    assert made.exit_code == 0, made.output
    assert "schema " + str(migrate.head_revision()) in made.output
    with zipfile.ZipFile(file) as archive:
        manifest = json.loads(archive.read(MANIFEST))
    assert manifest["store"] == ("sqlite" if store_url.startswith("sqlite") else "postgresql")
    assert manifest["counts"]["tickets"] == 3
    assert manifest["counts"]["web_users"] == 5
    done = runner.invoke(app, ["--database-url", empty_url, "restore", str(file)])
    assert done.exit_code == 0, done.output
    restored = _engine(empty_url, tmp_path)
    try:
        assert current_revision(restored) == migrate.head_revision()
        for table, columns in (
            (agents, ("id", "token_hash", "acked_seq")),
            (journal, ("agent_id", "seq", "payload")),
            (tickets, ("id", "owner", "state", "opened_at", "title_vi")),
            (inventory_assets, ("asset_tag", "commune_code", "original_cost")),
            (users, ("username", "role", "owner", "password_hash")),
        ):
            assert _rows(restored, table, *columns) == _rows(engine, table, *columns), table.name
        assert len(_rows(restored, tickets, "id")) == 3
    finally:
        restored.dispose()
