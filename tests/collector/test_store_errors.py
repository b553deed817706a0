"""A store that is down or full (collector/store_errors.py): 503 with Retry-After and no driver
text on every route, counted; /metrics goes on without the parts read from the store, and
``cm_store_up`` says whether it answered. The store here is a real SQLite file made unreadable
(a directory where the file should be), not a stand-in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from collector import store_errors


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a SQLite path that cannot be opened: every query is an OperationalError."""
    (tmp_path / "store.db").mkdir()
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def working(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'ok.db'}")
    yield engine
    engine.dispose()


class _FromStore(Collector):
    """A collector whose family is read from ``engine`` (as the ticket gauges are)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            value = float(conn.execute(text("SELECT 7")).scalar_one())
        yield GaugeMetricFamily("cm_from_store", "read from the store", value=value)


def _read(engine: Engine) -> bytes:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT 7")).scalar_one()).encode()


def test_only_errors_a_retry_can_cure_are_unavailable() -> None:
    assert store_errors.is_unavailable(OperationalError("SELECT 1", {}, Exception("disk full")))
    assert store_errors.is_unavailable(InterfaceError("SELECT 1", {}, Exception("closed")))
    assert not store_errors.is_unavailable(IntegrityError("INSERT", {}, Exception("unique")))
    assert not store_errors.is_unavailable(ValueError("bad input"))


async def test_every_route_answers_503_with_retry_after_and_no_driver_text(
    broken: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastAPI()
    counted = CollectorRegistry()
    answers = Counter("test_store_unavailable", "503 answers", registry=counted)
    store_errors.install(app, answers)

    @app.get("/things")
    def things() -> int:
        with broken.connect() as conn:
            return int(conn.execute(text("SELECT 1")).scalar_one())

    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.WARNING, logger="collector.store_errors"):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/things")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(store_errors.RETRY_AFTER_SECONDS)
    assert answer.json() == {"detail": store_errors.MESSAGE, "field": None}
    assert "store.db" not in answer.text
    assert "state store unavailable: GET /things: OperationalError" in caplog.text
    assert counted.get_sample_value("test_store_unavailable_total") == 1.0


def test_metrics_go_on_without_the_store(broken: Engine, working: Engine) -> None:
    registry = CollectorRegistry()
    registry.register(store_errors.StoreProbe(broken))
    registry.register(store_errors.WithoutStore(_FromStore(broken), "tickets"))
    down = generate_latest(registry).decode()
    assert "cm_store_up 0.0" in down
    assert "cm_from_store" not in down
    assert (
        store_errors.render_without_store(lambda: bytes(_FromStore(broken).collect()), "register")
        == b""
    )

    registry = CollectorRegistry()
    registry.register(store_errors.StoreProbe(working))
    registry.register(store_errors.WithoutStore(_FromStore(working), "tickets"))
    up = generate_latest(registry).decode()
    assert "cm_store_up 1.0" in up
    assert "cm_from_store 7.0" in up
    assert store_errors.render_without_store(lambda: _read(working), "register") == b"7"
