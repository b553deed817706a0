"""The Prometheus path: one real Prometheus, configured from the example ``prometheus.yml`` and
loaded with the recording rules, scrapes two province collectors; the rules' outputs keep the
provinces apart and the dashboards' queries (device and ticket panels) work on scraped data."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from alerts.schema import tickets
from dashboards.build import all_dashboards
from tests.dashboards.servers import (
    by_label,
    collector,
    prometheus,
    prometheus_config,
    query,
    wait_for,
    wait_for_values,
)
from tests.dashboards.walk import targets

PROVINCES = ("37", "01")


def test_prometheus_scraping_two_province_collectors(tmp_path: Path) -> None:
    with (
        collector(tmp_path / "c37", PROVINCES[0]) as (first, store),
        collector(tmp_path / "c01", PROVINCES[1]) as (second, _),
        prometheus(tmp_path, prometheus_config(tmp_path, [first, second])) as url,
    ):
        up = wait_for(url, 'up{job="commune-monitor"} == 1', 2)
        assert {s["metric"]["instance"] for s in up} == {first, second}
        counts = wait_for(url, "province:cm_communes_reporting:count", 2)
        assert by_label(counts, "province") == {("37",): 2.0, ("01",): 2.0}
        latency = wait_for(url, 'province:cm_probe_duration_seconds:p95{phase="ttfb"}', 4)
        assert {(s["metric"]["province"], s["metric"]["target"]) for s in latency} == {
            (p, t) for p in PROVINCES for t in ("motcua", "dvcqg")
        }
        # The overview's instant queries give the same answers on scraped data.
        overview = {t.panel: t.expr for t in targets(all_dashboards()["cm-province"])}
        reporting = overview["Xã đang báo cáo"].replace("$province", "37")
        (series,) = query(url, reporting)
        assert float(series["value"][1]) == 2.0
        # Open tickets by class: the panel counts what the province's store holds (the jammed
        # printers' printer_fault tickets, and whatever the random disks raised).
        with store.connect() as conn:
            expected = {
                (problem_class,): float(number)
                for problem_class, number in conn.execute(
                    select(tickets.c.problem_class, func.count())
                    .where(tickets.c.state != "resolved")
                    .group_by(tickets.c.problem_class)
                )
            }
        assert expected[("printer_fault",)] == 2.0
        by_class = overview["Phiếu đang mở theo loại sự cố"].replace("$province", "37")
        wait_for_values(url, by_class, ("problem_class",), expected)
        # No collector alert fires while both answer and the sink is off.
        assert query(url, 'ALERTS{alertstate="firing"}') == []
