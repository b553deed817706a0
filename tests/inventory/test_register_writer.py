"""Register export (XLSX, CSV) in both languages reads back to the same assets."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from inventory.lives import LifeTables
from inventory.models import Asset, AssetKind, Revaluation
from inventory.register_reader import read_register, read_register_csv, read_register_xlsx
from inventory.register_writer import register_to_csv, register_to_xlsx
from inventory.sample_register import generate_register

VI_HEADERS = (
    "Mã tài sản,Loại,Hãng,Model,Số serial,Mã xã,Phòng/Quầy,Ngày đưa vào sử dụng,"
    "Nguyên giá (VNĐ),Nguồn vốn,Hết bảo hành,Trạng thái,Đơn vị cũ"
)


def sample(units_csv: Path, communes: int = 6) -> list[Asset]:
    return generate_register(units_csv, "38", seed=3, max_communes=communes)


def test_xlsx_round_trip_read_back_with_openpyxl(
    units_csv: Path, valid_codes: frozenset[str], tables: LifeTables
) -> None:
    assets = sample(units_csv)
    assert any(asset.revaluation is not None for asset in assets)
    data = register_to_xlsx(assets)
    workbook = load_workbook(io.BytesIO(data))
    worksheet = workbook["Sổ tài sản"]
    headers = [cell.value for cell in worksheet[1]]
    assert headers[:13] == VI_HEADERS.split(",")
    assert headers[-1] == "Tài sản cố định"
    column = {header: index for index, header in enumerate(headers)}
    first = [cell for cell in worksheet[2]]
    assert first[column["Mã xã"]].value == assets[0].commune_code  # text, zeros kept
    assert first[column["Ngày đưa vào sử dụng"]].number_format == "dd/mm/yyyy"
    costs = [row[column["Nguyên giá (VNĐ)"]] for row in worksheet.iter_rows(min_row=2)]
    assert all(cell.number_format == "#,##0" for cell in costs)
    assert worksheet.freeze_panes == "A2"
    back = read_register_xlsx(data, valid_communes=valid_codes, tables=tables)
    assert back == assets


def test_csv_round_trip_has_a_bom(units_csv: Path, valid_codes: frozenset[str]) -> None:
    assets = sample(units_csv)
    data = register_to_csv(assets)
    assert data.startswith(b"\xef\xbb\xbf")
    assert "Ngày đưa vào sử dụng" in data.decode("utf-8-sig").splitlines()[0]
    assert read_register_csv(data, valid_communes=valid_codes) == assets
    english = register_to_csv(assets, lang="en")
    assert read_register(english, filename="r.csv", valid_communes=valid_codes) == assets


def test_revaluation_columns_round_trip(valid_codes: frozenset[str]) -> None:
    inherited = Asset(
        asset_tag="T-R",
        kind=AssetKind.PC,
        commune_code="00070",
        put_into_use=date(2019, 1, 1),
        revaluation=Revaluation(
            year=2026, cost=15_000_000, remaining_value=6_000_000, remaining_life_years=3
        ),
        years_used_before_purchase=1,
        asset_class="laptop",
    )
    assert read_register_csv(register_to_csv([inherited]), valid_communes=valid_codes) == [
        inherited
    ]
