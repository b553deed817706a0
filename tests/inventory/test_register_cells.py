"""Parsers of one register cell: the spellings offices use, and the reasons given when wrong."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.lives import LifeTables
from inventory.models import AssetKind, AssetStatus
from inventory.register_cells import (
    CellError,
    cell_text,
    parse_class,
    parse_commune,
    parse_date,
    parse_int,
    parse_kind,
    parse_status,
    parse_vnd,
)


@given(st.integers(min_value=0, max_value=10**13))
def test_amounts_parse_in_every_spelling(amount: int) -> None:
    dotted = f"{amount:,}".replace(",", ".")
    assert parse_vnd(amount) == amount
    assert parse_vnd(float(amount)) == amount
    assert parse_vnd(str(amount)) == amount
    assert parse_vnd(f"{amount:,}") == amount
    assert parse_vnd(f"{dotted} đ") == amount
    assert parse_vnd(f"{dotted} VNĐ") == amount


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("15/08/2023", date(2023, 8, 15)),
        ("5-8-2023", date(2023, 8, 5)),
        ("15.08.2023", date(2023, 8, 15)),
        ("2023-08-15", date(2023, 8, 15)),
        ("2023-08-15T00:00:00", date(2023, 8, 15)),
        ("08/2023", date(2023, 8, 1)),
        ("2023-08", date(2023, 8, 1)),
        ("2023", date(2023, 1, 1)),
        (datetime(2023, 8, 15, 9, 30), date(2023, 8, 15)),
        (date(2023, 8, 15), date(2023, 8, 15)),
        ("", None),
        (None, None),
    ],
)
def test_dates_in_every_spelling_offices_use(cell: object, expected: date | None) -> None:
    assert parse_date(cell) == expected


@pytest.mark.parametrize("cell", ["31/02/2024", "15/13/2023", "ngày 15", "1979", "15/08/2101"])
def test_impossible_dates_are_refused_with_a_reason(cell: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_date(cell)
    assert caught.value.code == "bad_date"
    assert caught.value.reason_vi
    assert caught.value.reason_en


def test_commune_codes_are_zero_padded_then_checked() -> None:
    assert parse_commune("70", {"00070"}) == "00070"
    assert parse_commune(70.0, {"00070"}) == "00070"
    for cell, code in (("", "missing"), ("7O", "bad_commune_code"), ("123456", "bad_commune_code")):
        with pytest.raises(CellError) as caught:
            parse_commune(cell, {"00070"})
        assert caught.value.code == code
    with pytest.raises(CellError, match="00071"):
        parse_commune("71", {"00070"})


def test_kinds_and_statuses_by_code_vietnamese_or_english_name() -> None:
    assert parse_kind("Máy vi tính") is AssetKind.PC
    assert parse_kind("may photo") is AssetKind.MFP
    assert parse_kind("Document scanner") is AssetKind.SCANNER
    assert parse_status("") is AssetStatus.IN_USE
    assert parse_status("Hư hỏng") is AssetStatus.BROKEN
    assert parse_status("transferred") is AssetStatus.TRANSFERRED
    with pytest.raises(CellError) as kind:
        parse_kind("Máy pha cà phê")
    with pytest.raises(CellError) as status:
        parse_status("Mất")
    assert (kind.value.code, status.value.code) == ("unknown_kind", "unknown_status")


def test_counts_and_classes(tables: LifeTables) -> None:
    assert parse_int("3") == 3
    assert parse_int(2.0) == 2
    assert parse_int(" ") is None
    with pytest.raises(CellError):
        parse_int("-1")
    desktop = tables.classes["desktop_pc"]
    assert parse_class(desktop.name_vi, tables) == "desktop_pc"
    assert parse_class("laptop", None) == "laptop"
    with pytest.raises(CellError):
        parse_class("Máy bay", tables)


def test_text_drops_control_characters_and_keeps_line_ends_as_newlines() -> None:
    assert cell_text(" Quầy\x071\r\nbên trái ") == "Quầy1\nbên trái"
    assert cell_text(15000000.0) == "15000000"
    assert cell_text(datetime(2024, 5, 2, 8, 0)) == "2024-05-02"
    assert cell_text(None) == ""
