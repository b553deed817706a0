"""Every panel query and variable of every generated dashboard, run against VictoriaMetrics
holding a simulated province written through the real sink: non-empty, correctly labelled."""

from __future__ import annotations

from typing import Any

import pytest

from dashboards.build import all_dashboards
from tests.dashboards.conftest import REPORTS, LoadedProvince
from tests.dashboards.walk import Target, targets, variable_queries

# English copies carry the same queries (tests/dashboards/test_model.py checks that).
DASHBOARDS = {uid: d for uid, d in all_dashboards().items() if not uid.endswith("-en")}
TARGETS = [t for d in DASHBOARDS.values() for t in targets(d)]
VARIABLES = [(uid, *v) for uid, d in DASHBOARDS.items() for v in variable_queries(d)]


def _choices(loaded: LoadedProvince) -> dict[str, str]:
    """What a user would pick: province 37, a slow commune (it has failures), its first PC."""
    commune = loaded.live[0]
    return {
        "$province": loaded.province,
        "$commune": commune,
        "$device": f"pc-{commune}-1",
        "$target": ".*",  # "All"
        "$__rate_interval": "5m",
    }


def _substitute(expr: str, choices: dict[str, str]) -> str:
    for variable, value in choices.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, expr
    return expr


def _series(loaded: LoadedProvince, target: Target, expr: str) -> list[dict[str, Any]]:
    at = loaded.now.timestamp()
    if target.instant:
        return loaded.vm.query(expr, at=at)
    body = loaded.vm.query_range(expr, at - 3600, at, "60s")
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.mark.parametrize("target", TARGETS, ids=[t.id for t in TARGETS])
def test_panel_query_returns_labelled_series(province_tsdb: LoadedProvince, target: Target) -> None:
    choices = _choices(province_tsdb)
    series = _series(province_tsdb, target, _substitute(target.expr, choices))
    assert series, f"no series for {target.expr}"
    for one in series:
        labels = one["metric"]
        missing = target.labels - set(labels)
        assert not missing, (target.expr, labels)
        # The variables really filter: nothing of another province or commune leaks in.
        if "province" in labels:
            assert labels["province"] == province_tsdb.province
        if "$commune" in target.expr and "commune_code" in labels:
            assert labels["commune_code"] == choices["$commune"]
        if "$device" in target.expr and "device_id" in labels:
            assert labels["device_id"] == choices["$device"]
        values = one.get("values") or [one["value"]]
        assert values


@pytest.mark.parametrize(
    ("uid", "name", "match", "label"), VARIABLES, ids=[f"{v[0]}/{v[1]}" for v in VARIABLES]
)
def test_variable_lists_the_values_a_user_picks(
    province_tsdb: LoadedProvince, uid: str, name: str, match: str, label: str
) -> None:
    choices = _choices(province_tsdb)
    at = province_tsdb.now.timestamp()
    values = province_tsdb.vm.label_values(label, _substitute(match, choices), at - 3600, at)
    expected = {
        "province": {province_tsdb.province, province_tsdb.other_province},
        "commune": set(province_tsdb.live),
        "device": {choices["$device"], f"pc-{choices['$commune']}-2"},
        "target": {"motcua", "dvcqg"},
    }[name]
    assert expected <= set(values), values
    if name in {"province", "device"}:
        assert set(values) == expected  # both collectors' provinces; the commune's PCs only
    if name == "commune":
        # Only the chosen province's communes (the other province's codes start with 0).
        assert all(not value.startswith("0") for value in values), values


def test_overview_counts_match_the_simulated_province(province_tsdb: LoadedProvince) -> None:
    overview = {t.panel: t for t in targets(DASHBOARDS["cm-province"])}
    choices = _choices(province_tsdb)

    def value(panel: str) -> float:
        (series,) = province_tsdb.vm.query(
            _substitute(overview[panel].expr, choices), at=province_tsdb.now.timestamp()
        )
        return float(series["value"][1])

    assert value("Xã đang báo cáo") == len(province_tsdb.live)
    assert value("Xã mất liên lạc") == 1
    (silent,) = province_tsdb.vm.query(
        _substitute(overview["Danh sách xã mất liên lạc"].expr, choices),
        at=province_tsdb.now.timestamp(),
    )
    assert silent["metric"]["commune_code"] == province_tsdb.silent
    # Every sample of every report reached the database.
    assert province_tsdb.samples > len(province_tsdb.live) * REPORTS * 50
