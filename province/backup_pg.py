"""PostgreSQL's half of backup and restore: ``pg_dump --format=custom`` from an exported snapshot,
``pg_restore`` into an empty database, and the libpq environment both run with.

The dump runs on a snapshot exported by a REPEATABLE READ transaction that stays open until
pg_dump is done, so the rows counted for the manifest are exactly those in the dump, whatever
the collector writes meanwhile. The password goes to the programs in ``PGPASSWORD``, never on a
command line another user could read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from collector.errors import CollectorError

# Query parameters of a SQLAlchemy URL that libpq reads from the environment.
_LIBPQ_QUERY = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
DUMP_TIMEOUT_SECONDS = 6 * 3600  # a province's store dumps in minutes; hours means stuck


class PgToolError(CollectorError):
    """pg_dump or pg_restore is missing, too old, or failed; the message says which and why."""


def libpq_env(url: URL, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that points libpq programs at ``url``'s database."""
    env = dict(os.environ if base is None else base)
    parts = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
    }
    for name, value in parts.items():
        if value:
            env[name] = value
    for key, name in _LIBPQ_QUERY.items():
        given = url.query.get(key)
        if isinstance(given, str):
            env[name] = given
    return env


def tool(name: str) -> str:
    """The path of ``pg_dump`` or ``pg_restore``, or a PgToolError saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise PgToolError(
            f"{name} not found on PATH: install the PostgreSQL client programs "
            "(Debian: postgresql-client), of the server's major version or newer"
        )
    return path


def client_major(program: str) -> int:
    """The major version of a client program (``pg_dump (PostgreSQL) 15.20`` → 15)."""
    done = subprocess.run(
        [program, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    found = _VERSION.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise PgToolError(f"{program} --version gave no version: {done.stdout or done.stderr}")
    return int(found.group(1))


def server_major(conn: Connection) -> int:
    """The server's major version (``server_version_num`` 150020 → 15)."""
    return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10_000


def check_client(program: str, conn: Connection) -> tuple[int, int]:
    """(client, server) majors; refused when the client is older than the server (pg_dump
    cannot dump a newer server)."""
    client, server = client_major(program), server_major(conn)
    if client < server:
        raise PgToolError(
            f"{Path(program).name} is PostgreSQL {client} but the server is {server}: install "
            f"postgresql-client-{server} (the client must not be older than the server)"
        )
    return client, server


def export_snapshot(conn: Connection) -> str:
    """Export the snapshot of ``conn``'s (REPEATABLE READ) transaction for pg_dump."""
    return str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())


def dump(url: URL, snapshot: str, dest: Path) -> None:
    """``pg_dump --format=custom`` of ``url``'s database, as of ``snapshot``, into ``dest``."""
    program = tool("pg_dump")
    _run(
        [program, "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--file={dest}"],
        libpq_env(url),
        "pg_dump",
    )


def user_relations(engine: Engine) -> int:
    """Tables, views and sequences outside PostgreSQL's own schemas: 0 for an empty database."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
                    "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                )
            ).scalar_one()
        )


def restore(url: URL, archive: Path) -> None:
    """``pg_restore`` of ``archive`` into ``url``'s (empty) database, all or nothing."""
    program = tool("pg_restore")
    _run(
        [
            program,
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            f"--dbname={url.database}",
            str(archive),
        ],
        libpq_env(url),
        "pg_restore",
    )


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=DUMP_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise PgToolError(f"{what} failed (exit {done.returncode}): {' '.join(message[-3:])}")
