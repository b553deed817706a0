"""A VictoriaMetrics holding a simulated province, written through the collector's real sink.

Built once per session: a SQLite store with province 37's communes, agents ingesting through
the real ingest function, the journal processor feeding the real InfluxSink, which writes
line protocol to a real VictoriaMetrics on loopback. (The sink's store parity on SQLite and
PostgreSQL is covered by tests/collector/test_influx_sink.py; here the store is only the road
to the database.) A second collector, for another province, writes to the same database, as
in a national deployment, so every province filter is really tested.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from collector import communes, migrate
from collector.cli import BUNDLED_UNITS
from collector.db import make_engine
from collector.influx_sink import Backlog, InfluxSink, InfluxWriter
from collector.service import build_service
from collector.settings import load_settings
from tests.conftest import TEST_PROVINCE
from tests.dashboards.province import commune_codes, commune_reports, enrol, ingest
from tests.tsdb import VictoriaMetrics

LIVE_COMMUNES = 6
OTHER_PROVINCE = "01"  # Hà Nội: its collector shares the VictoriaMetrics
REPORTS = 60  # one hour at one report a minute
STEP = 60.0


@dataclass(frozen=True)
class LoadedProvince:
    """What the database holds, for building expectations."""

    vm: VictoriaMetrics
    now: datetime
    province: str
    live: list[str]  # communes reporting up to ``now``; the first two are slow
    silent: str  # reported until two hours ago, then went quiet
    samples: int
    other_province: str


def load_province(
    tmp: Path,
    vm: VictoriaMetrics,
    province: str = TEST_PROVINCE,
    live_communes: int = LIVE_COMMUNES,
) -> LoadedProvince:
    """One collector for ``province``: ingest its simulated communes and write them all to
    ``vm`` through the sink."""
    tmp.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'store.db'}")
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        communes.load_units(engine, communes.read_units(BUNDLED_UNITS, province))
        registry = CollectorRegistry()
        sink = InfluxSink(
            InfluxWriter(vm.url, "token", "org", "bucket", timeout_seconds=10),
            Backlog(tmp / "backlog", 1 << 30),
            registry,
            batch_size=5000,
        )
        service = build_service(settings, registry=registry, engine=engine, consumers=[sink])
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        codes = commune_codes(engine, live_communes + 1)
        live, silent = codes[:live_communes], codes[live_communes]
        start = now - timedelta(seconds=STEP * (REPORTS - 1))
        for i, code in enumerate(live):
            reports = commune_reports(code, start, REPORTS, STEP, slow=i < 2)
            ingest(engine, enrol(engine, code, now), reports, now)
        quiet = commune_reports(silent, now - timedelta(hours=3), REPORTS, STEP)
        ingest(engine, enrol(engine, silent, now), quiet, now)
        service.processor.drain()
        written = sink.flush()
        sink.stop()
    finally:
        engine.dispose()
    vm.flush()
    return LoadedProvince(vm, now, province, live, silent, written, OTHER_PROVINCE)


@pytest.fixture(scope="session")
def province_tsdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedProvince]:
    """A VictoriaMetrics (stopped by PID afterwards) holding the simulated province."""
    tmp = tmp_path_factory.mktemp("province-tsdb")
    vm = VictoriaMetrics(tmp / "vm").start()
    try:
        load_province(tmp / OTHER_PROVINCE, vm, OTHER_PROVINCE, live_communes=2)
        yield load_province(tmp / TEST_PROVINCE, vm)
    finally:
        vm.stop()
