"""Fixtures shared by every test: the state store on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.settings import Settings, load_settings
from province import migrate
from tests.services import missing_service

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_PROVINCE = "37"  # Ninh Bình: 129 communes


def _pg_admin() -> Engine:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the service is missing
        engine.dispose()
        missing_service(f"PostgreSQL at 127.0.0.1:5432 ({exc.__class__.__name__})")
    return engine


def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test; dropped afterwards."""
    admin = _pg_admin()
    name = f"cm_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


DEFAULT_TIMEOUT = 300  # pyproject.toml: [tool.pytest.ini_options] timeout


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long scenario tests first, the longest first (by the timeout each one declares).

    scripts/test runs the suite on two workers (pytest-xdist, ``--maxschedchunk 2``): each starts
    with two tests from the head of the list and takes the next ones as it finishes. With the
    week's replays at the head, one worker spends the run on them while the other takes the
    short tests, instead of a replay starting last and finishing alone.
    """

    def declared(item: pytest.Item) -> float:
        marker = item.get_closest_marker("timeout")
        return float(marker.args[0]) if marker is not None and marker.args else DEFAULT_TIMEOUT

    items.sort(key=lambda item: -declared(item) if declared(item) > DEFAULT_TIMEOUT else 0.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from postgres_database()


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    """Collector settings on the store under test, with an admin token."""
    return load_settings(data_dir=tmp_path, database_url=store_url, admin_token="admin-secret")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A migrated store holding one province's communes."""
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, TEST_PROVINCE))
    yield engine
    engine.dispose()
