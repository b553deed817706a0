"""The store's shared writes (collector/db.py), on both stores: inserts that skip duplicates,
upserts by key (only forward in time when asked), SQLite's pragmas, one writer at a time."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select

from collector.db import WriteGate, insert_ignore, make_engine, upsert
from collector.settings import Settings, load_settings

_metadata = MetaData()
_things = Table(
    "test_db_things",
    _metadata,
    Column("name", String(20), primary_key=True),
    Column("value", String(20), nullable=False),
    Column("version", Integer, nullable=False),
)


def _rows(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(_things).order_by(_things.c.name))]


def test_insert_ignore_and_upsert_by_key(engine: Engine) -> None:
    _metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            insert_ignore(conn, _things, [{"name": "a", "value": "1", "version": 1}])
            insert_ignore(
                conn,
                _things,
                [
                    {"name": "a", "value": "dup", "version": 9},
                    {"name": "b", "value": "2", "version": 1},
                ],
            )
            insert_ignore(conn, _things, [])
        assert _rows(engine) == [("a", "1", 1), ("b", "2", 1)]
        with engine.begin() as conn:
            upsert(
                conn,
                _things,
                [
                    {"name": "a", "value": "new", "version": 2},
                    {"name": "c", "value": "3", "version": 1},
                ],
                keys=["name"],
                update=["value", "version"],
            )
            upsert(conn, _things, [], keys=["name"], update=["value"])
        assert _rows(engine) == [("a", "new", 2), ("b", "2", 1), ("c", "3", 1)]
        # With newer_than, an older row never overwrites a newer one.
        with engine.begin() as conn:
            upsert(
                conn,
                _things,
                [
                    {"name": "a", "value": "stale", "version": 1},
                    {"name": "b", "value": "fresh", "version": 5},
                ],
                keys=["name"],
                update=["value", "version"],
                newer_than="version",
            )
        assert _rows(engine) == [("a", "new", 2), ("b", "fresh", 5), ("c", "3", 1)]
    finally:
        _metadata.drop_all(engine)


def test_a_sqlite_store_gets_its_folder_wal_and_foreign_keys(tmp_path: Path) -> None:
    settings: Settings = load_settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'deep' / 'store.db'}"
    )
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            journal_mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            foreign_keys = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert (journal_mode, foreign_keys) == ("wal", 1)
        expected = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}[
            settings.sqlite_synchronous.upper()
        ]
        assert synchronous == expected
        assert (tmp_path / "deep" / "store.db").exists()
    finally:
        engine.dispose()


def test_the_write_gate_serialises_on_sqlite_only(engine: Engine) -> None:
    gate = WriteGate(engine)
    inside = 0
    most = 0
    lock = threading.Lock()

    def write() -> None:
        nonlocal inside, most
        for _ in range(200):
            with gate:
                with lock:
                    inside += 1
                    most = max(most, inside)
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if engine.dialect.name == "sqlite":
        assert most == 1
    else:
        with gate, gate:  # no lock on PostgreSQL: even nested, it never blocks
            pass
