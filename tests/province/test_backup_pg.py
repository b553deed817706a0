"""PostgreSQL's tools for backups (province/backup_pg.py): a pg_dump older than the server is
refused, the password reaches libpq by the environment only.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from province import backup_pg
from tests.services import require_binary


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_pg_dump_older_than_the_server_is_refused(engine: Engine, tmp_path: Path) -> None:
    real = require_binary("pg_dump")
    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(old.stat().st_mode | stat.S_IXUSR)
    with engine.connect() as conn:
        with pytest.raises(backup_pg.PgToolError, match=r"PostgreSQL 9 but the server is \d+"):
            backup_pg.check_client(str(old), conn)
        client, server = backup_pg.check_client(real, conn)
    assert client >= server


def test_the_password_reaches_libpq_by_environment_only() -> None:
    url = create_engine("postgresql+psycopg://cm:s3cret@db.example:6543/state?sslmode=require").url
    env = backup_pg.libpq_env(url, base={})
    assert env == {
        "PGHOST": "db.example",
        "PGPORT": "6543",
        "PGUSER": "cm",
        "PGPASSWORD": "s3cret",
        "PGDATABASE": "state",
        "PGSSLMODE": "require",
    }
