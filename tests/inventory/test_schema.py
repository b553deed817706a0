"""The register's tables match migrations 0002 and 0009 (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine


def test_migrations_match_the_register_tables(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from inventory.schema import inventory_assets as assets_table

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, assets_table.metadata)
    ours = {"inventory_assets", "inventory_imports", "inventory_rollups"}

    def table_of(change: object) -> str | None:
        item = change[0] if isinstance(change, list) else change
        for part in item[1:] if isinstance(item, tuple) else ():
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            if table is not None:
                return str(table.name)
            if isinstance(part, str) and part in ours:
                return part
            if name in ours:
                return str(name)
        return None

    assert [change for change in diff if table_of(change) in ours] == []
