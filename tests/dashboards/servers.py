"""Real servers on loopback for the history tests: a collector's app under uvicorn, a province
collector with recent reports and tickets, and Prometheus processes configured from the shipped
examples (province and national). Each is a context manager that stops what it started."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from sqlalchemy import Engine

from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.settings import load_settings
from province import migrate
from province.app import create_app
from province.service import ProvinceService, build_service
from tests.alerts.support import printer as jammed_printer
from tests.dashboards.province import commune_codes, commune_reports, enrol, ingest
from tests.services import free_port, require_binary

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"


@contextmanager
def serve(service: ProvinceService, port: int | None = None) -> Iterator[str]:
    """The collector's ASGI app on 127.0.0.1 (a free port unless given); yields host:port."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), f"collector did not start on port {port}"
        assert time.monotonic() < deadline, "collector did not start"
        time.sleep(0.01)  # waiting for a real server thread to bind
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def collector(tmp: Path, province: str) -> Iterator[tuple[str, Engine]]:
    """A collector for ``province`` whose store holds two communes' recent reports, each with a
    jammed printer (so the real alert engine raises one printer_fault ticket per commune);
    serves on a free loopback port; yields its host:port and its store."""
    tmp.mkdir(parents=True)
    settings = load_settings(
        data_dir=tmp, database_url=f"sqlite:///{tmp / 'store.db'}", run_processor=False
    )
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, province))
    service = build_service(settings, engine=engine)
    now = datetime.now(UTC).replace(microsecond=0)
    for code in commune_codes(engine, 2):
        reports = commune_reports(code, now - timedelta(minutes=3), 3, 60.0, slow=True)
        for report in reports:
            report["devices"].append(jammed_printer(f"printer-jam-{code}", jammed=True))
        ingest(engine, enrol(engine, code, now), reports, now)
    service.processor.drain()
    try:
        with serve(service) as address:
            yield address, engine
    finally:
        engine.dispose()


def prometheus_config(
    tmp: Path,
    collectors: list[str],
    *,
    province: str | None = None,
    example: str = "prometheus.yml",
) -> Path:
    """A shipped example configuration (``config/<example>``) with these targets and 1 s
    intervals (the shipped 1 min ones would make the tests wait minutes); its rule files are the
    shipped ones with the same interval change. ``province`` sets the external label."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((PROMETHEUS_DIR / "config" / example).read_text("utf-8"))
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    if province is not None:
        config["global"]["external_labels"]["province"] = province
    rule_files = []
    for name in config["rule_files"]:
        rules = yaml.safe_load((PROMETHEUS_DIR / "config" / name).read_text("utf-8"))
        for group in rules["groups"]:
            group.pop("interval", None)
        path = tmp / Path(name).name
        path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
        rule_files.append(str(path))
    config["rule_files"] = rule_files
    (job,) = config["scrape_configs"]
    job.pop("scrape_interval", None)
    job["scrape_timeout"] = "1s"
    job["static_configs"] = [{"targets": collectors}]
    path = tmp / f"config-{example}"  # not the rule file of the same name beside it
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextmanager
def prometheus(tmp: Path, config: Path) -> Iterator[str]:
    """A real Prometheus on a free loopback port, stopped by its PID; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / f"prometheus-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                require_binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / f'data-{port}'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _ready(url):
            assert proc.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "prometheus did not become ready in 30 s"
            time.sleep(0.1)  # waiting for a real process to come up
        yield url
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def query(url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query at the server's now (Prometheus or VictoriaMetrics API)."""
    body = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert body["status"] == "success", (promql, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for(url: str, promql: str, count: int, seconds: float = 60) -> list[dict[str, Any]]:
    """Poll a real server until ``promql`` has at least ``count`` series (scrapes and rule
    evaluations happen on its own schedule)."""
    deadline = time.monotonic() + seconds
    result: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            result = query(url, promql)
        except httpx.TransportError:
            result = []
        if len(result) >= count:
            return result
        time.sleep(0.2)  # waiting for a real process's scrape, not for time to pass
    pytest.fail(f"{promql}: {len(result)} series after {seconds} s, wanted {count}")


def wait_for_values(
    url: str,
    promql: str,
    labels: tuple[str, ...],
    expected: dict[tuple[str, ...], float],
    seconds: float = 60,
) -> None:
    """Poll until ``promql`` gives exactly ``expected`` by ``labels``: a rule evaluated over
    federated inputs can see one province's rollup a cycle before the other's."""
    deadline = time.monotonic() + seconds
    got: dict[tuple[str, ...], float] = {}
    while time.monotonic() < deadline:
        try:
            got = by_label(query(url, promql), *labels)
        except httpx.TransportError:
            got = {}
        if got == expected:
            return
        time.sleep(0.2)  # waiting for a real process's evaluation, not for time to pass
    assert got == expected, f"{promql} after {seconds} s"


def by_label(series: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    """{(label values...): value} of an instant result."""
    return {
        tuple(one["metric"].get(label, "") for label in labels): float(one["value"][1])
        for one in series
    }


def service_metric_names(tmp: Path) -> set[str]:
    """Every family name a real collector's /metrics declares (with ``_total`` for counters),
    from an empty store: what dashboards and rules may use besides the device catalogue."""
    tmp.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'store.db'}")
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        service = build_service(settings, engine=engine)
        assert service.inventory is not None
        # The register's figures are computed in the background, never by a scrape: once here.
        service.inventory.refresh()
        service.inventory.close()
        text = service.exposition().decode()
    finally:
        engine.dispose()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(f"{name}_total" if kind == "counter" else name)
            names.add(name)
    return names
