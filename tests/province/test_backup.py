"""Backup and restore of the store (province/backup.py) on both stores: only into an empty
store, never a newer schema or a damaged file, an older schema migrated; the commands' round
trip is in test_backup_cli.py, PostgreSQL's tools in test_backup_pg.py."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from collector.db import current_revision, make_engine
from collector.settings import load_settings
from province import migrate
from province.backup import MANIFEST, BackupError, backup, restore
from province.cli import app
from tests.conftest import postgres_database
from tests.fakes import FakeClock

runner = CliRunner()


def _engine(url: str, tmp_path: Path) -> Engine:
    return make_engine(load_settings(data_dir=tmp_path, database_url=url))


def test_restore_goes_only_into_an_empty_store(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "backup.zip"
    backup(engine, file, FakeClock().now())
    with pytest.raises(BackupError, match=r"already there|not empty"):
        restore(engine, file)
    refused = runner.invoke(app, ["--database-url", store_url, "restore", str(file)])
    assert refused.exit_code == 2
    assert "empty" in refused.output


def _rewrite(
    file: Path,
    target: Path,
    *,
    manifest: dict[str, object] | None = None,
    payload: bytes | None = None,
) -> None:
    with zipfile.ZipFile(file) as src, zipfile.ZipFile(target, "w") as out:
        original = json.loads(src.read(MANIFEST))
        member = str(original["member"])
        out.writestr(MANIFEST, json.dumps({**original, **(manifest or {})}))
        out.writestr(member, payload if payload is not None else src.read(member))


def test_a_newer_schema_a_damaged_file_and_another_store_kind_are_refused(
    engine: Engine, store_url: str, empty_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "backup.zip"
    backup(engine, file, FakeClock().now())
    target = _engine(empty_url, tmp_path)
    try:
        newer = tmp_path / "newer.zip"
        _rewrite(file, newer, manifest={"schema_revision": "0099"})
        with pytest.raises(BackupError, match=r"'0099' is newer than this release's"):
            restore(target, newer)
        damaged = tmp_path / "damaged.zip"
        _rewrite(file, damaged, payload=b"not the store")
        with pytest.raises(BackupError, match="SHA-256 does not match"):
            restore(target, damaged)
        other = "postgresql" if store_url.startswith("sqlite") else "sqlite"
        foreign = tmp_path / "foreign.zip"
        _rewrite(file, foreign, manifest={"store": other})
        with pytest.raises(BackupError, match=f"a {other} backup cannot be restored"):
            restore(target, foreign)
        not_a_backup = tmp_path / "notes.zip"
        with zipfile.ZipFile(not_a_backup, "w") as archive:
            archive.writestr("notes.txt", "hello")
        with pytest.raises(BackupError, match="not a commune-monitor backup"):
            restore(target, not_a_backup)
        # Nothing of any of them reached the target: it is still empty.
        assert current_revision(target) is None
    finally:
        target.dispose()


def test_an_older_schema_is_migrated_after_the_restore(
    store_url: str, empty_url: str, tmp_path: Path
) -> None:
    head = migrate.head_revision()
    before = ScriptDirectory(str(migrate.MIGRATIONS)).get_revision(head).down_revision
    assert isinstance(before, str)
    if store_url.startswith("sqlite"):
        old_url = f"sqlite:///{tmp_path / 'old' / 'store.db'}"
        urls: Iterator[str] = iter([old_url])
    else:
        urls = postgres_database()
        old_url = next(urls)
    old = _engine(old_url, tmp_path)
    target = _engine(empty_url, tmp_path)
    try:
        migrate.upgrade(old, before)
        file = tmp_path / "old.zip"
        assert backup(old, file, FakeClock().now()).schema_revision == before
        done = restore(target, file)
        assert done.manifest.schema_revision == before
        assert done.migrated_to == head
        assert current_revision(target) == head
    finally:
        old.dispose()
        target.dispose()
        for _ in urls:  # drop the PostgreSQL database
            pass


def test_an_empty_store_has_nothing_to_back_up(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'none.db'}")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with pytest.raises(BackupError, match="no schema yet"):
            backup(engine, tmp_path / "b.zip", FakeClock().now())
        assert not (tmp_path / "b.zip").exists()
    finally:
        engine.dispose()
