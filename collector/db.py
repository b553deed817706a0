"""Engine creation and dialect helpers for the state store (SQLite default, PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from collector.settings import Settings

# Page cache per SQLite connection, KiB. SQLite's default is 2 MiB per connection; the pool below
# holds up to 50, and under a sustained soak every one filled its cache (~60 MiB of the RSS growth
# measured in benchmarks/soak.py). 1 MiB keeps the hot B-tree pages; the OS page cache holds the
# rest of the file. So SQLite's caches are bounded at 50 MiB whatever the load.
SQLITE_CACHE_KIB = 1024


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured store; SQLite gets WAL and the chosen durability."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A pool as large as the server's thread pool: opening a SQLite connection (and its
        # pragmas) per request costs more than the query.
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=40,
            max_overflow=10,
        )
        synchronous = settings.sqlite_synchronous

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


class WriteGate:
    """Serialises this process's write transactions on SQLite, which has a single writer.

    Without it the journal writer and the processor collide inside SQLite, whose busy handler
    sleeps for up to 100 ms between retries; an in-process lock hands over in microseconds.
    On PostgreSQL it does nothing: rows are locked individually there.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    def __enter__(self) -> None:
        if self._lock is not None:
            self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.release()


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, silently skipping those that violate a unique constraint."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), list(rows))
    else:
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), list(rows))


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    *,
    newer_than: str | None = None,
) -> None:
    """Insert or update rows by ``keys``; with ``newer_than``, only if that column grows."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    where = None
    if newer_than is not None:
        where = stmt.excluded[newer_than] >= table.c[newer_than]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in update},
        where=where,
    )
    conn.execute(stmt, list(rows))


def current_revision(engine: Engine) -> str | None:
    """The schema revision the store is at, or None for an empty store."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
