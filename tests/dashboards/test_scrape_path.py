"""The Prometheus path at national scale: one real Prometheus, configured from the example
``prometheus.yml`` and loaded with the recording rules, scrapes two province collectors; the
rules' outputs keep the provinces apart and the dashboards' queries work on scraped data."""

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

from collector import communes, migrate
from collector.api import create_app
from collector.cli import BUNDLED_UNITS
from collector.db import make_engine
from collector.service import build_service
from collector.settings import load_settings
from dashboards.build import all_dashboards
from tests.dashboards.province import commune_codes, commune_reports, enrol, ingest
from tests.dashboards.walk import targets
from tests.services import free_port, require_binary

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"
PROVINCES = ("37", "01")


@contextmanager
def collector(tmp: Path, province: str) -> Iterator[str]:
    """A collector for ``province`` whose store holds two communes' recent reports; serves
    on a free loopback port; yields its host:port."""
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
        ingest(engine, enrol(engine, code, now), reports, now)
    service.processor.drain()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "collector did not start"
        time.sleep(0.01)  # waiting for a real server thread to bind
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        engine.dispose()


def prometheus_config(tmp: Path, collectors: list[str]) -> Path:
    """The example configuration, with these collectors as targets and 1 s intervals (the
    shipped 1 min ones would make the test wait minutes); the rules are the shipped ones with
    the same interval change."""
    config = yaml.safe_load((PROMETHEUS_DIR / "config" / "prometheus.yml").read_text("utf-8"))
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
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
    job["scrape_timeout"] = "1s"
    job["static_configs"] = [{"targets": collectors}]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextmanager
def prometheus(tmp: Path, config: Path) -> Iterator[str]:
    """A real Prometheus on a free loopback port, stopped by its PID."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                require_binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _ready(url):
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prometheus did not become ready in 30 s"
            time.sleep(0.1)  # waiting for a real process to come up
        yield url
    finally:
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
    body = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert body["status"] == "success", (promql, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for(url: str, promql: str, count: int, seconds: float = 60) -> list[dict[str, Any]]:
    """Poll a real Prometheus until ``promql`` has ``count`` series (scrapes and rule
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


def test_prometheus_scraping_two_province_collectors(tmp_path: Path) -> None:
    with (
        collector(tmp_path / "c37", PROVINCES[0]) as first,
        collector(tmp_path / "c01", PROVINCES[1]) as second,
        prometheus(tmp_path, prometheus_config(tmp_path, [first, second])) as url,
    ):
        up = wait_for(url, 'up{job="commune-monitor"} == 1', 2)
        assert {s["metric"]["instance"] for s in up} == {first, second}
        counts = wait_for(url, "province:cm_communes_reporting:count", 2)
        assert {s["metric"]["province"]: float(s["value"][1]) for s in counts} == {
            "37": 2.0,
            "01": 2.0,
        }
        latency = wait_for(url, 'province:cm_probe_duration_seconds:p95{phase="ttfb"}', 4)
        assert {(s["metric"]["province"], s["metric"]["target"]) for s in latency} == {
            (p, t) for p in PROVINCES for t in ("motcua", "dvcqg")
        }
        # The overview's instant queries give the same answers on scraped data.
        overview = {t.panel: t.expr for t in targets(all_dashboards()["cm-province"])}
        reporting = overview["Xã đang báo cáo"].replace("$province", "37")
        (series,) = query(url, reporting)
        assert float(series["value"][1]) == 2.0
        # No collector alert fires while both answer and the sink is off.
        assert query(url, 'ALERTS{alertstate="firing"}') == []
