"""Migration 0003 creates the alerting tables, matches the metadata, and downgrades cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import alerts.schema  # noqa: F401 - registers the alerting tables on the metadata
import inventory.schema  # noqa: F401 - registers the register's tables on the metadata
from collector import migrate
from collector.schema import metadata

TABLES = {
    "alert_incidents",
    "alert_members",
    "alert_rule_state",
    "tickets",
    "ticket_history",
    "notification_outbox",
}


def test_upgrade_matches_metadata_and_downgrades(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if any(t in str(d) for t in TABLES)] == []
    config = migrate.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    engine.dispose()
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    engine.dispose()
    assert set(inspect(engine).get_table_names()) >= TABLES
