"""Schema migrations (province/migrate.py) on both stores: an empty store brought to the
newest revision this release ships, step by step or at once, and again without change."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from collector.db import make_engine
from collector.settings import Settings
from province import migrate


def test_the_head_is_the_newest_shipped_migration() -> None:
    scripts = ScriptDirectory(str(migrate.MIGRATIONS))
    heads = scripts.get_heads()
    assert heads == [migrate.head_revision()]
    shipped = sorted(p.name for p in (migrate.MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert len(list(scripts.walk_revisions())) == len(shipped)


def test_an_empty_store_is_upgraded_to_the_head_once(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        assert migrate.current_revision(engine) is None
        first = ScriptDirectory(str(migrate.MIGRATIONS)).get_base()
        assert first is not None
        migrate.upgrade(engine, first)
        assert migrate.current_revision(engine) == first
        assert "journal" in inspect(engine).get_table_names()
        assert "tickets" not in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {"journal", "tickets", "inventory_assets", "web_users", "audit_log"} <= tables
        migrate.upgrade(engine)  # at the head already: nothing to do, nothing broken
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()


def test_the_alembic_config_points_at_the_migrations_and_the_store(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        config = migrate.alembic_config(engine)
        assert config.get_main_option("script_location") == str(migrate.MIGRATIONS)
        assert config.get_main_option("sqlalchemy.url") == engine.url.render_as_string(
            hide_password=False
        )
    finally:
        engine.dispose()
