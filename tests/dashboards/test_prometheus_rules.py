"""Prometheus path: the rules and example config pass promtool's checks and unit tests, use
only metrics the collector exposes, and the recording rules run on the province's history."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from collector.catalogue import load_catalogue
from collector.influx_sink import SinkMetrics
from tests.dashboards.conftest import LoadedProvince
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


def _rules() -> list[dict[str, str]]:
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules.extend(group["rules"])
    return rules


def test_rule_files_pass_promtool_check() -> None:
    assert [p.name for p in RULE_FILES] == ["alerts.yml", "recording.yml"]
    done = _promtool("check", "rules", *RULE_FILES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULE_FILES)


def test_example_config_passes_promtool_check() -> None:
    done = _promtool("check", "config", RULES_DIR / "config" / "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 rule files found" in done.stdout


def test_rule_unit_tests_pass() -> None:
    tests = sorted((RULES_DIR / "tests").glob("*_test.yml"))
    assert len(tests) == 2
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


def test_rules_use_only_metrics_the_collector_exposes() -> None:
    registry = CollectorRegistry()
    SinkMetrics.create(registry)
    exposed = {
        line.split()[2]
        for line in generate_latest(registry).decode().splitlines()
        if "TYPE" in line
    }
    # Counters are exposed with the _total suffix the TYPE line leaves out.
    exposed |= {f"{name}_total" for name in exposed}
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
    "rule", [r for r in _rules() if "record" in r], ids=lambda r: r.get("record", "")
)
def test_recording_rule_runs_on_the_province_history(
    province_tsdb: LoadedProvince, rule: dict[str, str]
) -> None:
    # Recorded inputs (commune:...) are not in the database: expand them into their exprs.
    expr = rule["expr"]
    for other in _rules():
        if "record" in other and other["record"] in expr:
            expr = expr.replace(other["record"], f"({other['expr']})")
    series = province_tsdb.vm.query(expr, at=province_tsdb.now.timestamp())
    # Rules keep provinces apart: both collectors' provinces, each in its own series.
    provinces = {one["metric"]["province"] for one in series}
    assert provinces == {province_tsdb.province, province_tsdb.other_province}, expr
