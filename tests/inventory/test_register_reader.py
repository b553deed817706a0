"""Register import: all or nothing, every problem located by sheet, row and column."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from inventory.errors import RegisterFileError, RegisterRejected
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.register_reader import read_register, read_register_csv, read_register_xlsx
from inventory.register_writer import register_to_xlsx
from inventory.sample_register import generate_register

VI_HEADERS = (
    "Mã tài sản,Loại,Hãng,Model,Số serial,Mã xã,Phòng/Quầy,Ngày đưa vào sử dụng,"
    "Nguyên giá (VNĐ),Nguồn vốn,Hết bảo hành,Trạng thái,Đơn vị cũ"
)

GOOD_ROWS = [
    "00070-MT-01,Máy vi tính,Dell,OptiPlex 3080,DL123,00070,Quầy 1,15/08/2023,"
    '"15.000.000",Ngân sách tỉnh,15/08/2026,Đang sử dụng,',
    "00070-MI-01,Máy in,OKI,B433DN,OK555,00070,Quầy 1,2022-03-01,4800000,Ngân sách xã,,Hỏng,",
    "00004-MQ-01,scanner,Fujitsu,fi-7160,FJ777,4,Quầy 2,03/2021,12 000 000 đ,,,in_use,"
    "UBND xã Xuân Hòa (cũ)",
]


def csv_bytes(*rows: str, header: str = VI_HEADERS) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def test_csv_with_vietnamese_headers(valid_codes: frozenset[str]) -> None:
    assets = read_register_csv(csv_bytes(*GOOD_ROWS), valid_communes=valid_codes)
    assert [asset.asset_tag for asset in assets] == ["00070-MT-01", "00070-MI-01", "00004-MQ-01"]
    desktop, printer, scanner = assets
    assert desktop.kind is AssetKind.PC
    assert desktop.original_cost == 15_000_000
    assert desktop.put_into_use == date(2023, 8, 15)
    assert desktop.warranty_end == date(2026, 8, 15)
    assert desktop.is_fixed_asset
    assert printer.status is AssetStatus.BROKEN
    assert printer.put_into_use == date(2022, 3, 1)
    assert not printer.is_fixed_asset
    # "4" was zero-padded, "03/2021" is the first of the month, "12 000 000 đ" is whole VND.
    assert scanner.commune_code == "00004"
    assert scanner.put_into_use == date(2021, 3, 1)
    assert scanner.original_cost == 12_000_000
    assert scanner.previous_owner == "UBND xã Xuân Hòa (cũ)"


def test_english_headers_semicolons_and_no_diacritics(valid_codes: frozenset[str]) -> None:
    english = (
        b"Asset tag;Kind;Brand;Model;Serial;Commune code;Room/Counter;In use since;"
        b"Original cost (VND);Funding source;Warranty end;Status;Previous owner unit\n"
        b"T-1;printer;HP;M404dn;HP1;00070;Counter 2;2024-01-31;5,200,000;;;broken;\n"
    )
    bare = b"Ma tai san,LOAI,ma xa,Ngay dua vao su dung\nT-2,may quet,00070,1/2/2024\n"
    first = read_register_csv(english, valid_communes=valid_codes)
    second = read_register_csv(bare, valid_communes=valid_codes)
    assert first[0].original_cost == 5_200_000
    assert first[0].status is AssetStatus.BROKEN
    assert second[0].kind is AssetKind.SCANNER
    assert second[0].put_into_use == date(2024, 2, 1)
    assert second[0].original_cost is None


def test_header_below_a_title_block(valid_codes: frozenset[str]) -> None:
    data = (
        "SỔ TÀI SẢN CỐ ĐỊNH\nTrung tâm Phục vụ hành chính công phường Hoàn Kiếm\n\n"
        + VI_HEADERS
        + "\n"
        + GOOD_ROWS[0]
        + "\n"
    ).encode()
    assert len(read_register_csv(data, valid_communes=valid_codes)) == 1


BAD_ROWS = [
    # row 2: fine
    GOOD_ROWS[0],
    # row 3: bad date
    "T-3,Máy in,,,S3,00070,,31/02/2024,4000000,,,,",
    # row 4: negative cost
    "T-4,Máy in,,,S4,00070,,01/02/2024,-4000000,,,,",
    # row 5: unknown commune code
    "T-5,Máy in,,,S5,99999,,01/02/2024,4000000,,,,",
    # row 6: duplicate tag of row 2
    "00070-MT-01,Máy in,,,S6,00070,,01/02/2024,4000000,,,,",
    # row 7: duplicate serial of row 2 (case differs)
    "T-7,Máy in,,,dl123,00070,,01/02/2024,4000000,,,,",
    # row 8: unknown kind and unknown status
    "T-8,Máy pha cà phê,,,S8,00070,,01/02/2024,4000000,,,Mất,",
    # row 9: fractional VND
    'T-9,Máy in,,,S9,00070,,01/02/2024,"4000000,5",,,,',
]


def test_bad_rows_reject_everything_and_locate_each_problem(
    valid_codes: frozenset[str],
) -> None:
    store: list[Asset] = []
    with pytest.raises(RegisterRejected) as caught:
        store.extend(read_register_csv(csv_bytes(*BAD_ROWS), valid_communes=valid_codes))
    assert store == []  # the store is untouched: nothing half imported
    found = {(issue.row, issue.column, issue.code) for issue in caught.value.issues}
    assert found == {
        (3, "Ngày đưa vào sử dụng", "bad_date"),
        (4, "Nguyên giá (VNĐ)", "negative_cost"),
        (5, "Mã xã", "unknown_commune"),
        (6, "Mã tài sản", "duplicate_tag"),
        (7, "Số serial", "duplicate_serial"),
        (8, "Loại", "unknown_kind"),
        (8, "Trạng thái", "unknown_status"),
        (9, "Nguyên giá (VNĐ)", "bad_cost"),
    }
    for issue in caught.value.issues:
        assert issue.sheet == "CSV"
        assert issue.reason_vi
        assert issue.reason_en
    by_row = {issue.row: issue for issue in caught.value.issues}
    assert by_row[5].value == "99999"
    assert "99999" in by_row[5].reason_vi
    assert "dòng 2" in by_row[6].reason_vi
    assert "8 problem(s)" in str(caught.value)


def test_duplicates_against_the_store_and_future_dates(valid_codes: frozenset[str]) -> None:
    with pytest.raises(RegisterRejected) as caught:
        read_register_csv(
            csv_bytes(GOOD_ROWS[0], GOOD_ROWS[1]),
            valid_communes=valid_codes,
            existing_tags={"00070-mi-01"},
            existing_serials={"DL123"},
            as_of=date(2023, 1, 1),
        )
    codes = sorted((issue.row, issue.code) for issue in caught.value.issues)
    assert codes == [(2, "duplicate_serial"), (2, "future_date"), (3, "duplicate_tag")]


def test_missing_required_column(valid_codes: frozenset[str]) -> None:
    data = "Mã tài sản,Loại,Ngày đưa vào sử dụng\nT-1,pc,01/01/2024\n".encode()
    with pytest.raises(RegisterRejected) as caught:
        read_register_csv(data, valid_communes=valid_codes)
    [issue] = caught.value.issues
    assert (issue.row, issue.column, issue.code) == (1, "Mã xã", "missing_column")


def test_incomplete_revaluation_and_empty_required_cell(valid_codes: frozenset[str]) -> None:
    data = (
        "Mã tài sản,Loại,Mã xã,Ngày đưa vào sử dụng,Giá trị còn lại đánh giá lại (VNĐ)\n"
        "T-1,pc,00070,01/01/2019,5000000\n"
        "T-2,pc,00070,,\n"
    ).encode()
    with pytest.raises(RegisterRejected) as caught:
        read_register_csv(data, valid_communes=valid_codes)
    assert sorted((i.row, i.code) for i in caught.value.issues) == [
        (2, "incomplete_revaluation"),
        (3, "missing"),
    ]


def xlsx_of(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        worksheet = workbook.create_sheet(name)
        for row in rows:
            worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_issues_name_the_sheet_and_instruction_sheets_are_skipped(
    valid_codes: frozenset[str],
) -> None:
    header = ["Mã tài sản", "Loại", "Mã xã", "Ngày đưa vào sử dụng", "Nguyên giá (VNĐ)"]
    data = xlsx_of(
        {
            "Hướng dẫn": [["Điền mỗi thiết bị một dòng"]],
            "Xã A": [header, ["A-1", "Máy vi tính", "00070", date(2024, 5, 2), 16_500_000]],
            "Xã B": [header, ["B-1", "Máy in", 70, "2024-05-02", 4_800_000.0], ["B-2"]],
        }
    )
    with pytest.raises(RegisterRejected) as caught:
        read_register_xlsx(data, valid_communes=valid_codes)
    assert {(i.sheet, i.row, i.column) for i in caught.value.issues} == {
        ("Xã B", 3, "Loại"),
        ("Xã B", 3, "Mã xã"),
        ("Xã B", 3, "Ngày đưa vào sử dụng"),
    }
    good = xlsx_of({"Xã A": [header, ["A-1", "pc", "00070", date(2024, 5, 2), 16_500_000]]})
    [asset] = read_register(good, filename="so_tai_san.xlsx", valid_communes=valid_codes)
    assert asset.original_cost == 16_500_000


def test_unreadable_files(valid_codes: frozenset[str], tmp_path: Path) -> None:
    with pytest.raises(RegisterFileError, match="UTF-8"):
        read_register_csv("Mã tài sản\n".encode("utf-16"), valid_communes=valid_codes)
    with pytest.raises(RegisterFileError, match="XLSX"):
        read_register_xlsx(b"PK\x03\x04 not really", valid_communes=valid_codes)
    with pytest.raises(RegisterFileError, match="Mã tài sản"):
        read_register_csv(b"a,b\n1,2\n", valid_communes=valid_codes)
    with pytest.raises(RegisterFileError, match="unsupported"):
        read_register(b"x", filename="register.pdf", valid_communes=valid_codes)
    with pytest.raises(RegisterFileError, match="cannot read"):
        read_register(tmp_path / "nope.csv", valid_communes=valid_codes)


def test_realistic_province_register_imports(units_csv: Path, valid_codes: frozenset[str]) -> None:
    # A whole province (Lai Châu, 38 communes) through XLSX, as a finance user would upload it.
    assets = generate_register(units_csv, "12", seed=11)
    assert len(assets) > 1_000
    back = read_register(
        register_to_xlsx(assets), filename="lai_chau.xlsx", valid_communes=valid_codes
    )
    assert len(back) == len(assets)
    assert back[0] == assets[0]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda text: text.encode()))
def test_any_csv_input_raises_only_our_errors(valid_codes: frozenset[str], data: bytes) -> None:
    with contextlib.suppress(RegisterRejected, RegisterFileError):
        read_register_csv(VI_HEADERS.encode() + b"\n" + data, valid_communes=valid_codes)
