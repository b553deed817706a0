"""Every panel query and variable of every generated dashboard, run against VictoriaMetrics
holding a simulated province written through the real sink: non-empty, correctly labelled."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from agent.vntime import local_date
from alerts.schema import tickets
from dashboards.build import all_dashboards
from inventory.models import AssetStatus
from inventory.reports import InventoryConfig, budget_plan, ranking
from inventory.store import list_assets
from tests.dashboards.conftest import REPORTS, LoadedProvince
from tests.dashboards.servers import by_label
from tests.dashboards.walk import Target, targets, variable_queries

# English copies carry the same queries (tests/dashboards/test_build.py checks that).
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
    at = loaded.at
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
    at = province_tsdb.at
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
            _substitute(overview[panel].expr, choices), at=province_tsdb.at
        )
        return float(series["value"][1])

    assert value("Xã đang báo cáo") == len(province_tsdb.live)
    assert value("Xã mất liên lạc") == 1
    (silent,) = province_tsdb.vm.query(
        _substitute(overview["Danh sách xã mất liên lạc"].expr, choices),
        at=province_tsdb.at,
    )
    assert silent["metric"]["commune_code"] == province_tsdb.silent
    # Every sample of every report reached the database.
    assert province_tsdb.samples > len(province_tsdb.live) * REPORTS * 50


def _instant(loaded: LoadedProvince, target: Target, *labels: str) -> dict[tuple[str, ...], float]:
    series = loaded.vm.query(_substitute(target.expr, _choices(loaded)), at=loaded.at)
    return by_label(series, *labels)


def _panels(uid: str) -> dict[str, Target]:
    return {t.panel: t for t in targets(DASHBOARDS[uid])}


def test_ticket_panels_count_the_tickets_the_engine_raised(province_tsdb: LoadedProvince) -> None:
    overview, commune = _panels("cm-province"), _panels("cm-commune")
    unresolved = tickets.c.state != "resolved"
    with province_tsdb.store.connect() as conn:

        def count(*columns: Any, where: Any = unresolved) -> dict[tuple[str, ...], float]:
            rows = conn.execute(
                select(*columns, func.count()).where(where).group_by(*columns)
            ).all()
            return {tuple(str(v) for v in row[:-1]): float(row[-1]) for row in rows}

        by_class = count(tickets.c.problem_class)
        by_owner = count(tickets.c.owner, tickets.c.state)
        breaches: dict[tuple[str, ...], float] = {}
        for kind, flag in (
            ("response", tickets.c.response_breached),
            ("resolution", tickets.c.resolution_breached),
        ):
            for (owner,), n in count(tickets.c.owner, where=unresolved & flag.is_(True)).items():
                breaches[(owner, kind)] = n
        of_commune = count(
            tickets.c.problem_class,
            tickets.c.owner,
            tickets.c.state,
            where=unresolved & (tickets.c.commune_code == province_tsdb.live[0]),
        )
        resolved = count(tickets.c.problem_class, where=tickets.c.state == "resolved")
    # The engine's tickets are varied enough for the counts to mean something.
    assert {"site_outage", "printer_fault"} <= {key[0] for key in by_class}
    assert {"open", "acknowledged"} <= {key[1] for key in by_owner}
    assert ("isp", "response") in breaches  # the silent commune's ticket, 31 minutes unanswered
    assert resolved  # recovered ones resolved after the hold-down: the panels leave them out
    assert _instant(province_tsdb, overview["Phiếu đang mở theo loại sự cố"], "problem_class") == (
        by_class
    )
    assert (
        _instant(province_tsdb, overview["Phiếu đang mở theo đơn vị xử lý"], "owner", "state")
        == by_owner
    )
    assert _instant(province_tsdb, overview["Phiếu quá hạn SLA"], "owner", "kind") == breaches
    assert of_commune
    assert (
        _instant(
            province_tsdb,
            commune["Phiếu đang mở của xã"],
            "problem_class",
            "owner",
            "state",
        )
        == of_commune
    )


def test_fleet_panels_show_the_register_and_the_plan(province_tsdb: LoadedProvince) -> None:
    fleet = _panels("cm-fleet")
    commune = province_tsdb.live[0]
    now = province_tsdb.alert_now
    day = local_date(now)
    held = [
        asset
        for asset in list_assets(province_tsdb.store, commune_code=commune)
        if asset.status in (AssetStatus.IN_USE, AssetStatus.BROKEN)
    ]
    bands: dict[tuple[str, ...], float] = {}
    for asset in held:
        years = (day - asset.put_into_use).days / 365.25 + asset.years_used_before_purchase
        band = next(
            (
                label
                for bound, label in ((1, "0-1"), (3, "1-3"), (5, "3-5"), (7, "5-7"))
                if years < bound
            ),
            "7+",
        )
        bands[(band,)] = bands.get((band,), 0.0) + 1
    assert len(bands) >= 2
    assert _instant(province_tsdb, fleet["Tài sản theo tuổi (sổ tài sản)"], "age_band") == bands
    config = InventoryConfig()
    scores = [s for s in ranking(province_tsdb.store, config, now=now) if s.commune_code == commune]
    past = sum(s.past_life for s in scores)
    assert past > 0
    assert _instant(province_tsdb, fleet["Tài sản quá thời gian sử dụng"]) == {(): float(past)}
    # Money for everything: the plan replaces every candidate, the list's cost.
    plan = budget_plan(province_tsdb.store, config, 10**13, now=now)
    (summary,) = [s for s in plan.communes if s.commune_code == commune]
    assert _instant(province_tsdb, fleet["Đề xuất thay thế"]) == {(): float(summary.replacements)}
    assert _instant(province_tsdb, fleet["Chi phí thay thế cả danh sách"]) == {
        (): float(summary.cost)
    }
    assert _instant(
        province_tsdb, fleet["Xã cần kinh phí thay thế nhiều nhất"], "commune_code"
    ) == {(commune,): float(summary.cost)}
