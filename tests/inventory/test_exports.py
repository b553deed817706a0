"""Every report as sheets and files: Vietnamese and English headers, VND and date formats."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from inventory.exports import (
    ExportError,
    ExportFormat,
    export_bytes,
    plan_export,
    plan_sheets,
    plan_to_xlsx,
    priority_sheet,
    reconciliation_sheets,
    wear_sheet,
)
from inventory.lives import LifeTables
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.prices import load_price_table
from inventory.priority import score_assets
from inventory.reconcile import SeenDevice, reconcile
from inventory.tables import to_csv
from inventory.wear import wear_schedule
from tests.inventory.builders import LAI_CHAU_BUDGET, lai_chau_plan

AS_OF = date(2026, 3, 2)


def asset(tag: str = "T-1", **extra: object) -> Asset:
    fields: dict[str, object] = {
        "asset_tag": tag,
        "kind": "pc",
        "commune_code": "00070",
        "put_into_use": date(2023, 8, 15),
        "original_cost": 15_000_000,
        "room": "Quầy 1",
    }
    fields.update(extra)
    return Asset.model_validate(fields)


def test_plan_workbook_has_four_sheets_with_vnd_formats(
    tables: LifeTables, units_csv: Path
) -> None:
    _, _, plan = lai_chau_plan(units_csv, tables, load_price_table())
    budget = LAI_CHAU_BUDGET
    workbook = load_workbook(io.BytesIO(plan_to_xlsx(plan)))
    assert workbook.sheetnames == ["Kế hoạch thay thế", "Theo xã", "Tổng hợp tỉnh", "Ràng buộc"]
    lines = workbook["Kế hoạch thay thế"]
    headers = [cell.value for cell in lines[1]]
    assert headers[:4] == ["STT", "Mã xã", "Tên xã", "Mã tài sản"]
    price_column = headers.index("Đơn giá thay thế (VNĐ)")
    prices_written = [row[price_column] for row in lines.iter_rows(min_row=2)]
    assert len(prices_written) == plan.replacements
    assert all(cell.number_format == "#,##0" for cell in prices_written)
    assert sum(cell.value for cell in prices_written) == plan.spent
    summary = workbook["Tổng hợp tỉnh"]
    rows = {row[0].value: row for row in summary.iter_rows(min_row=2)}
    assert rows["Ngân sách"][1].value == budget
    assert rows["Ngân sách"][1].number_format == "#,##0"
    assert rows["Kết quả tối ưu"][2].value == "Tối ưu (đã chứng minh)"
    english = load_workbook(io.BytesIO(plan_to_xlsx(plan, lang="en")))
    assert english.sheetnames[0] == "Replacement plan"


def test_plan_csv_is_its_lines_sheet(tables: LifeTables, units_csv: Path) -> None:
    _, _, plan = lai_chau_plan(units_csv, tables, load_price_table())
    lines = plan_sheets(plan, lang="en")[0]
    assert plan_export(plan, ExportFormat.CSV, lang="en") == to_csv(lines, lang="en")
    assert len(lines.rows) == plan.replacements


def test_ranking_sheet_is_ordered_and_in_vietnamese(tables: LifeTables) -> None:
    scores = score_assets(
        [asset("A"), asset("B", put_into_use=date(2015, 1, 1)), asset("C", status="retired")],
        tables,
        as_of=AS_OF,
    )
    assert set(scores) == {"A", "B"}
    sheet = priority_sheet(scores.values())
    assert [row[1] for row in sheet.rows] == ["B", "A"]
    assert sheet.columns[4].header_vi == "Điểm ưu tiên (0–100)"
    assert "quá thời gian sử dụng" in str(sheet.rows[0][-1])


def test_wear_sheet_has_vietnamese_headers(tables: LifeTables) -> None:
    schedules = [
        wear_schedule(asset(original_cost=15_000_000), tables, as_of=AS_OF),
        wear_schedule(
            asset("TS-02", kind=AssetKind.PRINTER, original_cost=4_800_000),
            tables,
            as_of=AS_OF,
        ),
    ]
    sheet = wear_sheet(schedules)
    headers = [column.header_vi for column in sheet.columns]
    assert "Hao mòn lũy kế (VNĐ)" in headers
    assert "Giá trị còn lại (VNĐ)" in headers
    assert len(sheet.rows) == 4 + 1


def test_reconciliation_is_three_sheets_and_never_one_csv() -> None:
    seen = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assets = [
        asset("PC-01", serial="CN12345"),
        asset("PR-01", kind=AssetKind.PRINTER, serial="PRN0001"),
        asset("PR-02", kind=AssetKind.PRINTER, serial="PRN0002", status=AssetStatus.RETIRED),
    ]
    devices = [
        SeenDevice("00070", "pc-a", "pc", seen, {"serial": "cn-123 45"}),
        SeenDevice("00070", "snmp-10.0.0.9", "mfp", seen, {"serial": "PRN0002"}),
        SeenDevice("00070", "pc-c", "pc", seen, {"hostname": "ketoan"}),
    ]
    result = reconcile(assets, devices)
    matched, missing, unrecorded = reconciliation_sheets(result, lang="vi")
    assert matched.name_vi == "Đã khớp"
    assert [row[0] for row in matched.rows] == ["PC-01", "PR-02"]
    assert matched.rows[0][4] == "số serial"
    assert matched.rows[0][5] == date(2026, 3, 1)
    assert "status: sổ 'retired'" in str(matched.rows[1][6])
    assert missing.rows[0][0] == "PR-01"
    assert unrecorded.rows[0][1] == "pc-c"
    english = reconciliation_sheets(result, lang="en")
    assert [sheet.name_en for sheet in english] == ["Matched", "Missing", "Unrecorded"]
    assert english[0].rows[0][4] == "serial"
    with pytest.raises(ExportError) as caught:
        export_bytes(english, ExportFormat.CSV, lang="en")
    assert caught.value.field == "format"
    workbook = load_workbook(io.BytesIO(export_bytes(english, ExportFormat.XLSX, lang="en")))
    assert workbook.sheetnames == ["Matched", "Missing", "Unrecorded"]
