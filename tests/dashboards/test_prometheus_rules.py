"""Prometheus path: the rules and example configs (province, national, VictoriaMetrics scrape)
pass promtool's and VictoriaMetrics' checks and promtool's unit tests, use only metrics the
collector exposes, and the recording rules run on the provinces' history."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import func, select

from alerts.schema import tickets
from collector.catalogue import load_catalogue
from collector.influx_sink import SinkMetrics
from tests.dashboards.conftest import SCRAPE_CONFIG, LoadedProvince
from tests.dashboards.servers import by_label, service_metric_names
from tests.services import require_binary

RULES_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
METRIC = re.compile(r"\b((?:cm|up)[a-z0-9_]*)\b(?!\s*[(:])")


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=RULES_DIR,
    )


def _rules(*names: str) -> list[dict[str, str]]:
    """The rules of the named rule files (default: all)."""
    rules = []
    for path in RULE_FILES:
        if names and path.name not in names:
            continue
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules.extend(group["rules"])
    return rules


RECORDED = {rule["record"]: rule["expr"] for rule in _rules() if "record" in rule}
RECORDED_NAME = re.compile(r"\b[a-z]+:[a-z0-9_]+:[a-z0-9_]+\b")


def _expand(expr: str) -> str:
    """``expr`` with every recorded series replaced by its expression, recursively (the
    database holds the inputs, not the rules' outputs)."""
    return RECORDED_NAME.sub(
        lambda m: f"({_expand(RECORDED[m[0]])})" if m[0] in RECORDED else m[0], expr
    )


def test_rule_files_pass_promtool_check() -> None:
    assert [p.name for p in RULE_FILES] == ["alerts.yml", "national.yml", "recording.yml"]
    done = _promtool("check", "rules", *RULE_FILES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULE_FILES)


@pytest.mark.parametrize(("config", "rule_files"), [("prometheus.yml", 2), ("national.yml", 1)])
def test_example_configs_pass_promtool_check(config: str, rule_files: int) -> None:
    done = _promtool("check", "config", RULES_DIR / "config" / config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{rule_files} rule files found" in done.stdout


def _vm_dry_run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            require_binary("victoria-metrics"),
            f"-promscrape.config={config}",
            "-promscrape.config.dryRun",
            "-loggerLevel=ERROR",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_victoriametrics_scrape_config_passes_its_check(tmp_path: Path) -> None:
    done = _vm_dry_run(SCRAPE_CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    # Device series come through the sink at their real times; the scrape must not add them.
    assert job["metric_relabel_configs"] == [
        {"source_labels": ["__name__"], "regex": "cm_device_.*", "action": "drop"}
    ]
    assert job["honor_labels"] is True
    job["no_such_field"] = 1
    broken = tmp_path / "scrape.yml"
    broken.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert _vm_dry_run(broken).returncode != 0


def test_rule_unit_tests_pass() -> None:
    tests = sorted((RULES_DIR / "tests").glob("*_test.yml"))
    assert len(tests) == 3
    done = _promtool("test", "rules", *tests)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(tests)


def test_a_broken_rule_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n  - name: x\n    rules:\n      - record: a:b\n        expr: sum(cm_device_x[\n",
        encoding="utf-8",
    )
    done = _promtool("check", "rules", broken)
    assert done.returncode != 0


def test_rules_use_only_metrics_the_collector_exposes(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    SinkMetrics.create(registry)
    exposed = {
        line.split()[2]
        for line in generate_latest(registry).decode().splitlines()
        if "TYPE" in line
    }
    # Counters are exposed with the _total suffix the TYPE line leaves out.
    exposed |= {f"{name}_total" for name in exposed}
    # The collector's own families: tickets, register figures, ingest and store health.
    exposed |= service_metric_names(tmp_path)
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    catalogue = load_catalogue()
    for rule in _rules():
        for name in METRIC.findall(rule["expr"]):
            if name == "up" or name in exposed:
                continue
            assert name.startswith("cm_device_"), (name, rule["expr"])
            assert name.removeprefix("cm_device_") in catalogue, name
    assert recorded


@pytest.mark.parametrize(
    "rule", [r for r in _rules("recording.yml") if "record" in r], ids=lambda r: r["record"]
)
def test_recording_rule_runs_on_the_province_history(
    province_tsdb: LoadedProvince, rule: dict[str, str]
) -> None:
    expr = _expand(rule["expr"])
    series = province_tsdb.vm.query(expr, at=province_tsdb.at)
    # Rules keep provinces apart: both collectors' provinces, each in its own series.
    provinces = {one["metric"]["province"] for one in series}
    assert provinces == {province_tsdb.province, province_tsdb.other_province}, expr


def test_national_rules_add_up_the_provinces(province_tsdb: LoadedProvince) -> None:
    national = {r["record"]: _expand(r["expr"]) for r in _rules("national.yml")}
    at = province_tsdb.at

    def value(name: str) -> dict[tuple[str, ...], float]:
        return by_label(province_tsdb.vm.query(national[name], at=at), "problem_class")

    # Six live communes in province 37, two in 01 (conftest); the silent one is not counted.
    assert value("national:cm_communes_reporting:sum") == {("",): 8.0}
    assert value("national:cm_provinces_reporting:count") == {("",): 2.0}
    with province_tsdb.store.connect() as conn:
        open_37 = {
            (problem_class,): float(n)
            for problem_class, n in conn.execute(
                select(tickets.c.problem_class, func.count())
                .where(tickets.c.state != "resolved")
                .group_by(tickets.c.problem_class)
            )
        }
    # Both provinces' tickets: at least province 37's, each class counted once per ticket.
    both = value("national:cm_tickets_open:sum")
    assert all(both[key] >= n for key, n in open_37.items())
    assert sum(both.values()) > sum(open_37.values())
    for name in national:
        series = province_tsdb.vm.query(national[name], at=at)
        assert series, name
        assert all("province" not in one["metric"] for one in series), name
