"""A VictoriaMetrics holding a simulated province: device history written through the
collector's real sink, tickets and register figures scraped from the collector's /metrics.

Built once per session: a SQLite store with province 37's communes, agents ingesting through
the real ingest function, the journal processor feeding the real InfluxSink (line protocol to a
real VictoriaMetrics on loopback) and the real alert engine, which raises tickets; an asset
register imported through the inventory store. The collector then serves its app on loopback
and VictoriaMetrics scrapes its /metrics with the shipped ``dashboards/victoriametrics/
scrape.yml`` (device series dropped there: the sink wrote them). (The sink's store parity on
SQLite and PostgreSQL is covered by tests/collector/test_influx_sink.py; here the store is only
the road to the database.) A second collector, for another province, writes to and is scraped by
the same database, as in a national deployment, so every province filter is really tested.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.vntime import local_date
from alerts import tickets as ticket_desk
from alerts.runtime import Alerting
from alerts.schema import tickets
from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.influx_sink import InfluxSink, InfluxWriter
from collector.settings import load_settings
from collector.sink_backlog import Backlog
from inventory.register_io import register_to_csv
from inventory.sample_register import generate_register
from inventory.store import import_register
from province import migrate
from province.service import build_service
from tests.conftest import TEST_PROVINCE
from tests.dashboards.province import commune_codes, commune_reports, enrol, ingest
from tests.dashboards.servers import serve, wait_for
from tests.fakes import FakeClock
from tests.services import free_port
from tests.tsdb import VictoriaMetrics

LIVE_COMMUNES = 6
OTHER_PROVINCE = "01"  # Hà Nội: its collector shares the VictoriaMetrics
REPORTS = 60  # one hour at one report a minute
STEP = 60.0
# Agents report every minute, but the alert engine is told 1 hour: the test moves its clock on
# past an SLA and the live agents must not fall silent meanwhile. The silent commune is quiet
# for two hours, so it still is.
HEARTBEAT = 3600.0
# Past the ISP's 30-minute response SLA (alerts/routing.yaml), within the live agents' silence.
SLA_WAIT = timedelta(minutes=31)
# The collector started before the data came, longer ago than its silence limit (1.5 heartbeats).
STARTED_BEFORE = timedelta(hours=3)
SCRAPE_CONFIG = (
    Path(__file__).resolve().parents[2] / "dashboards" / "victoriametrics" / "scrape.yml"
)


@dataclass(frozen=True)
class LoadedProvince:
    """What the database holds, for building expectations."""

    vm: VictoriaMetrics
    now: datetime  # the newest measured time of the device history
    at: float  # query time (Unix): after the scrape that brought tickets and register figures
    alert_now: datetime  # the collector's clock when tickets and register figures were read
    province: str
    live: list[str]  # communes reporting up to ``now``; the first two are slow
    silent: str  # reported until two hours ago, then went quiet
    samples: int
    other_province: str
    store: Engine  # the province's state store (tickets, register)


def open_all_day(path: Path, codes: list[str], around: datetime) -> Path:
    """A working calendar under which ``codes`` are open at every hour of the days around
    ``around``, weekend or holiday: the fixture runs at the wall clock's time, and its tickets
    (the silent commune's outage, the SLA breaches) must not depend on the hour it runs at."""
    today = local_date(around)
    days = [str(today + timedelta(days=offset)) for offset in (-1, 0, 1)]
    data = {
        "opening_hours": {"weekdays": [{"from": "00:00", "to": "23:59:59"}]},
        "grace_after_opening": "0m",
        "communes": {code: {"open": days} for code in codes},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@contextmanager
def province_collector(
    tmp: Path,
    vm: VictoriaMetrics,
    port: int,
    province: str = TEST_PROVINCE,
    live_communes: int = LIVE_COMMUNES,
) -> Iterator[LoadedProvince]:
    """One collector for ``province``: ingest its simulated communes, write them all to ``vm``
    through the sink, raise tickets, import a register; then serve /metrics on ``port``."""
    tmp.mkdir(parents=True, exist_ok=True)
    units = communes.read_units(BUNDLED_UNITS, province)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    calendar = open_all_day(tmp / "calendar.yaml", [unit["commune_code"] for unit in units], now)
    settings = load_settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'store.db'}",
        run_processor=False,
        heartbeat_seconds=HEARTBEAT,
        province_code=province,
        alerts_calendar_file=calendar,
    )
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        communes.load_units(engine, units)
        registry = CollectorRegistry()
        sink = InfluxSink(
            InfluxWriter(vm.url, "token", "org", "bucket", timeout_seconds=10),
            Backlog(tmp / "backlog", 1 << 30),
            registry,
            batch_size=5000,
        )
        # Its start-up guard (no silence judged until agents had time to report) is over when
        # the sweep judges the silent commune.
        clock = FakeClock(now - STARTED_BEFORE)
        service = build_service(
            settings, clock=clock, registry=registry, engine=engine, consumers=[sink]
        )
        clock.advance(STARTED_BEFORE.total_seconds())
        assert service.alerting is not None
        codes = commune_codes(engine, live_communes + 1)
        live, silent = codes[:live_communes], codes[live_communes]
        start = now - timedelta(seconds=STEP * (REPORTS - 1))
        for i, code in enumerate(live):
            # The slow communes' printers jam for good 10 minutes before the end: open tickets.
            reports = commune_reports(
                code, start, REPORTS, STEP, slow=i < 2, jammed_from=REPORTS - 10 if i < 2 else None
            )
            ingest(engine, enrol(engine, code, now), reports, now)
        quiet = commune_reports(silent, now - timedelta(hours=3), REPORTS, STEP)
        ingest(engine, enrol(engine, silent, now), quiet, now)
        service.processor.drain()
        written = sink.flush()
        sink.stop()
        _raise_tickets(engine, service.alerting, clock)
        register = [
            asset
            for asset in generate_register(BUNDLED_UNITS, province, seed=3, as_of=local_date(now))
            if asset.commune_code in codes
        ]
        import_register(engine, register_to_csv(register), filename="register.csv", now=now)
        vm.flush()
        with serve(service, port):
            yield LoadedProvince(
                vm=vm,
                now=now,
                at=0.0,
                alert_now=clock.now(),
                province=province,
                live=live,
                silent=silent,
                samples=written,
                other_province=OTHER_PROVINCE,
                store=engine,
            )
    finally:
        engine.dispose()


def _raise_tickets(engine: Engine, alerting: Alerting, clock: FakeClock) -> None:
    """The silence sweep opens the silent commune's site_outage next to the report rules'
    tickets; the first printer ticket is acknowledged, the first PC one resolved by hand; 31
    minutes on, the sweep marks the SLA breaches."""
    alerting.engine.sweep()
    desk = alerting.engine.desk
    with engine.connect() as conn:
        rows = conn.execute(
            select(tickets.c.id, tickets.c.problem_class).order_by(tickets.c.id)
        ).all()
    first = {problem_class: ticket_id for ticket_id, problem_class in reversed(rows)}
    if "printer_fault" in first:
        ticket_desk.acknowledge(
            engine, desk, first["printer_fault"], "vendor", clock.now(), scope=None
        )
    if "device_health" in first:
        ticket_desk.resolve(
            engine, desk, first["device_health"], "kythuat", "đã dọn ổ đĩa", clock.now(), scope=None
        )
    clock.advance(SLA_WAIT.total_seconds())
    alerting.engine.sweep()


def scrape_config(tmp: Path, targets: list[str]) -> Path:
    """The shipped VictoriaMetrics scrape configuration with these collectors, every second."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))
    config["global"]["scrape_interval"] = "1s"
    (job,) = config["scrape_configs"]
    job["scrape_timeout"] = "1s"
    job["static_configs"] = [{"targets": targets}]
    path = tmp / "scrape.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def province_tsdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedProvince]:
    """A VictoriaMetrics (stopped by PID afterwards) holding the simulated province."""
    tmp = tmp_path_factory.mktemp("province-tsdb")
    ports = {OTHER_PROVINCE: free_port(), TEST_PROVINCE: free_port()}
    targets = [f"127.0.0.1:{port}" for port in ports.values()]
    vm = VictoriaMetrics(
        tmp / "vm", extra_args=[f"-promscrape.config={scrape_config(tmp, targets)}"]
    ).start()
    try:
        with ExitStack() as stack:
            stack.enter_context(
                province_collector(
                    tmp / OTHER_PROVINCE, vm, ports[OTHER_PROVINCE], OTHER_PROVINCE, 2
                )
            )
            loaded = stack.enter_context(
                province_collector(tmp / TEST_PROVINCE, vm, ports[TEST_PROVINCE])
            )
            # Both collectors scraped: their tickets and register figures are in the database.
            for family in ("cm_tickets", "cm_assets"):
                wait_for(vm.url, f"count by (province) ({family})", 2)
            wait_for(vm.url, 'up{job="commune-monitor"} == 1', 2)
            vm.flush()
            yield replace(loaded, at=datetime.now(UTC).timestamp())
    finally:
        vm.stop()
