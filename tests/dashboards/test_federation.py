"""Two-level federation, all real processes on loopback: two collectors (two provinces), each
scraped by its own province Prometheus (the example ``prometheus.yml`` with its ``province``
external label), and a national Prometheus (the example ``national.yml``) federating both
servers' rollups and evaluating the national rules."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from alerts.schema import tickets
from tests.dashboards.servers import (
    collector,
    prometheus,
    prometheus_config,
    query,
    wait_for,
    wait_for_values,
)


def _open_tickets(*stores: tuple[str, Engine]) -> dict[tuple[str, ...], float]:
    """(province, problem_class, owner) -> unresolved tickets, from the collectors' stores."""
    out: dict[tuple[str, ...], float] = {}
    for province, store in stores:
        with store.connect() as conn:
            for problem_class, owner, number in conn.execute(
                select(tickets.c.problem_class, tickets.c.owner, func.count())
                .where(tickets.c.state != "resolved")
                .group_by(tickets.c.problem_class, tickets.c.owner)
            ):
                out[(province, problem_class, owner)] = float(number)
    return out


def _own_counter(url: str, name: str) -> float:
    """A counter of the Prometheus server's own /metrics (its scrape health)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == name.removesuffix("_total"):
            return sum(sample.value for sample in family.samples)
    raise AssertionError(f"{name} not on {url}/metrics")


def test_national_prometheus_federates_two_province_servers(tmp_path: Path) -> None:
    p37_dir, p01_dir, national_dir = tmp_path / "p37", tmp_path / "p01", tmp_path / "national"
    with (
        collector(tmp_path / "c37", "37") as (c37, store37),
        collector(tmp_path / "c01", "01") as (c01, store01),
        prometheus(p37_dir, prometheus_config(p37_dir, [c37], province="37")) as p37,
        prometheus(p01_dir, prometheus_config(p01_dir, [c01], province="01")) as p01,
    ):
        servers = [p37.removeprefix("http://"), p01.removeprefix("http://")]
        config = prometheus_config(national_dir, servers, example="national.yml")
        with prometheus(national_dir, config) as national:
            # The province rollups arrive with their own province label, one per server. Only
            # that label tells them apart: /federate blanks `instance` on rule outputs, so the
            # national job's target label is not added either.
            wait_for_values(
                national,
                "province:cm_communes_reporting:count",
                ("province",),
                {("37",): 2.0, ("01",): 2.0},
            )
            counts = query(national, "province:cm_communes_reporting:count")
            for one in counts:
                assert one["metric"]["job"] == "federate-provinces"
                assert "instance" not in one["metric"]
            # honor_labels: the collectors' `up` keeps its job and instance (not exported_*),
            # and the province server's external label tells the two collectors apart.
            up = wait_for(national, 'up{job="commune-monitor"}', 2)
            assert {(s["metric"]["province"], s["metric"]["instance"]) for s in up} == {
                ("37", c37),
                ("01", c01),
            }
            assert query(national, '{exported_job!=""}') == []
            assert query(national, '{exported_instance!=""}') == []
            # Only rollups travel: no raw device series at the national level.
            assert query(national, 'count({__name__=~"cm_device_.*"})') == []
            # Tickets: the province rollup, then the national rule, equal the two stores.
            expected = _open_tickets(("37", store37), ("01", store01))
            assert expected[("37", "printer_fault", "printer-vendor")] == 2.0
            wait_for_values(
                national,
                "province:cm_tickets_open:sum",
                ("province", "problem_class", "owner"),
                expected,
            )
            by_class: dict[tuple[str, ...], float] = {}
            for (_province, problem_class, _owner), number in expected.items():
                by_class[(problem_class,)] = by_class.get((problem_class,), 0.0) + number
            wait_for_values(national, "national:cm_tickets_open:sum", ("problem_class",), by_class)
            # The national rules evaluate on the federated rollups.
            # Each waits for its value: a national rule may first evaluate with one province's
            # rollup federated and not yet the other's.
            wait_for_values(national, "national:cm_communes_reporting:sum", (), {(): 4.0})
            wait_for_values(national, "national:cm_provinces_reporting:count", (), {(): 2.0})
            availability = wait_for(national, "national:cm_probe_success:avg5m", 2)
            assert {s["metric"]["target"] for s in availability} == {"motcua", "dvcqg"}
            # No two federated series collided: the national server dropped no sample.
            for counter in (
                "prometheus_target_scrapes_sample_duplicate_timestamp_total",
                "prometheus_target_scrapes_sample_out_of_order_total",
            ):
                assert _own_counter(national, counter) == 0.0, counter
            assert query(national, 'up{job="federate-provinces"} == 1') != []
