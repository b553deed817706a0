"""The console's tables (web/schema.py) against migrations 0004, 0007 and 0008, on both stores."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from province import migrate
from web.schema import users

# web_audit, made by 0004, was merged into the collector's audit_log by 0007.
WEB_TABLES = {"web_users", "web_sessions", "web_login_failures", "web_user_communes"}


def test_migration_0004_matches_the_tables_and_downgrades(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, users.metadata)
    mentioned = [change for change in diff if any(t in repr(change) for t in WEB_TABLES)]
    assert mentioned == []
    config = migrate.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    assert WEB_TABLES.isdisjoint(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert tables >= WEB_TABLES | {"audit_log"}
    assert "web_audit" not in tables
