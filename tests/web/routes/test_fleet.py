"""Fleet and finance pages (web/routes/fleet.py) over HTTP on both stores: the register and its
reconciliation, an asset's page, the budget plan and its XLSX; the budget and search rules."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from inventory.store import list_assets
from tests.web.support import Province
from tests.web.support import csrf_token as _csrf
from tests.web.support import login as _login
from web.errors import BadForm
from web.routes.fleet import matching_assets, parse_budget
from web.schema import audit


async def test_finance_plans_a_budget_and_downloads_the_xlsx(
    http: httpx.AsyncClient, province: Province
) -> None:
    await _login(http, "finance")
    fleet = await http.get("/web/fleet")
    assert fleet.status_code == 200
    # The test agents' devices carry no register serials or tags: "seen, not in the register".
    unrecorded = re.search(r'id="rec-unrecorded">(\d+)<', fleet.text)
    assert unrecorded is not None
    assert int(unrecorded.group(1)) > 0
    searched = await http.get("/web/fleet", params={"q": f"{province.other}-MT"})
    tags = set(re.findall(r'<td class="tag"><a href="[^"]+">([^<]+)</a></td>', searched.text))
    assert tags
    assert all(tag.startswith(f"{province.other}-MT") for tag in tags)
    # A PC's page: its wear per fiscal year and its priority terms.
    tag = sorted(tags)[0]
    asset = await http.get(f"/web/fleet/assets/{tag}")
    assert asset.status_code == 200
    assert 'id="wear"' in asset.text
    assert "Hao mòn theo năm tài chính" in asset.text
    assert 'id="asset-score"' in asset.text
    assert "Thông tư 23/2023/TT-BTC" in asset.text or "Thông tư 141/2025/TT-BTC" in asset.text
    assert (await http.get("/web/fleet/assets/KHONG-CO")).status_code == 404
    assert (await http.get("/web/overview")).status_code == 403
    token = _csrf(fleet.text)
    bad = await http.post("/web/fleet/plan", data={"csrf_token": token, "budget": "nhiều"})
    assert bad.status_code == 422
    assert "budget" in bad.text
    plan = await http.post("/web/fleet/plan", data={"csrf_token": token, "budget": "300.000.000"})
    assert plan.status_code == 200
    count = re.search(r'id="plan-count">(\d+)<', plan.text)
    assert count is not None
    lines = int(count.group(1))
    assert lines > 0
    xlsx = await http.post(
        "/web/fleet/plan.xlsx", data={"csrf_token": token, "budget": "300000000"}
    )
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    first = book.worksheets[0]
    rows = [row for row in first.iter_rows(values_only=True) if any(v is not None for v in row)]
    assert len(rows) - 1 == lines  # a header row, then one row per planned replacement


async def test_the_plan_export_is_audited_with_its_budget(
    http: httpx.AsyncClient, province: Province, engine: Engine
) -> None:
    await _login(http, "finance")
    token = _csrf((await http.get("/web/fleet")).text)
    xlsx = await http.post("/web/fleet/plan.xlsx", data={"csrf_token": token, "budget": "5.000"})
    assert xlsx.status_code == 200
    assert 'filename="ke-hoach-thay-the-5000.xlsx"' in xlsx.headers["content-disposition"]
    with engine.connect() as conn:
        lines = [(r.actor, r.action, r.target) for r in conn.execute(select(audit))]
    assert ("finance", "plan_exported", "budget 5000") in lines


def test_a_budget_is_a_whole_positive_amount_of_dong() -> None:
    assert parse_budget("300.000.000") == 300_000_000
    assert parse_budget("1 500 000") == 1_500_000
    for raw in ("nhiều", "", "-5", "0"):
        with pytest.raises(BadForm) as caught:
            parse_budget(raw)
        assert caught.value.field == "budget"


def test_register_search_matches_tag_model_commune_prefix_and_room(
    engine: Engine, province: Province
) -> None:
    assets = list_assets(engine)
    first = assets[0]
    assert matching_assets(assets, "") == assets
    assert first in matching_assets(assets, first.asset_tag.lower())
    assert first in matching_assets(assets, f" {first.brand} {first.model} ".upper())
    by_commune = matching_assets(assets, first.commune_code[:4])
    assert all(a.commune_code.startswith(first.commune_code[:4]) for a in by_commune)
    assert matching_assets(assets, "không có tài sản này") == []
