"""VND in one place: parsing every spelling offices use, the budget bounds, and formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.money import (
    MAX_BUDGET_VND,
    MIN_BUDGET_VND,
    MoneyError,
    num_en,
    num_vi,
    parse_budget,
    parse_vnd,
    vnd_en,
    vnd_vi,
)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("15000000", 15_000_000),
        ("15.000.000", 15_000_000),
        ("15,000,000", 15_000_000),
        ("15 000 000", 15_000_000),
        ("15\u00a0000\u00a0000", 15_000_000),
        ("15\u202f000\u202f000 đ", 15_000_000),
        ("15_000_000", 15_000_000),
        ("15.000.000 đ", 15_000_000),
        ("15.000.000đ", 15_000_000),
        ("15.000.000 VNĐ", 15_000_000),
        ("15,000,000 VND", 15_000_000),
        ("15,000,000 vnd.", 15_000_000),
        ("15.000.000 đồng", 15_000_000),
        ("15.000.000 dong", 15_000_000),
        ("  2.000.000.000 đ ", 2_000_000_000),
        # A dot between groups of three is a thousands separator, as in Vietnamese texts.
        ("1.500", 1_500),
        ("+7", 7),
        ("0", 0),
    ],
)
def test_texts_in_every_spelling(text: str, amount: int) -> None:
    assert parse_vnd(text) == amount


@pytest.mark.parametrize(
    ("value", "amount"),
    [(15_000_000, 15_000_000), (15_000_000.0, 15_000_000), (Decimal("4800000"), 4_800_000)],
)
def test_numbers_from_spreadsheet_cells(value: object, amount: int) -> None:
    assert parse_vnd(value) == amount


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("4000000,5", "bad_cost"),
        ("15.00", "bad_cost"),
        ("15.000.000,50 đ", "bad_cost"),
        (4_000_000.5, "bad_cost"),
        (Decimal("1.5"), "bad_cost"),
        (Decimal("NaN"), "bad_cost"),
        ("-4000000", "negative_cost"),
        ("-4.000.000 đ", "negative_cost"),
        (-1, "negative_cost"),
        ("mười lăm triệu", "bad_cost"),
        ("15.000.00", "bad_cost"),
        ("١٥", "bad_cost"),  # Arabic-Indic digits: isdigit() says yes, a register says no
        (True, "bad_cost"),
        ("", "bad_cost"),
    ],
)
def test_fractions_negatives_and_words_are_refused_with_a_reason(value: object, code: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_vnd(value)
    assert caught.value.code == code
    assert caught.value.reason_vi
    assert caught.value.reason_en


def test_budget_bounds_are_one_dong_to_a_million_billion() -> None:
    assert (MIN_BUDGET_VND, MAX_BUDGET_VND) == (1, 10**15)
    assert parse_budget("1") == 1
    assert parse_budget("1.000.000.000.000.000 đ") == 10**15
    for outside in ("0", str(10**15 + 1), "1.000.000.000.000.001"):
        with pytest.raises(MoneyError) as caught:
            parse_budget(outside)
        assert caught.value.code == "budget_out_of_range"
        assert "1,000,000,000,000,000 VND" in caught.value.reason_en
        assert "1.000.000.000.000.000 đ" in caught.value.reason_vi
    with pytest.raises(MoneyError) as negative:
        parse_budget("-5")
    assert negative.value.code == "negative_cost"


def test_formats() -> None:
    assert vnd_vi(15_000_000) == "15.000.000 đ"
    assert vnd_en(15_000_000) == "15,000,000 VND"
    assert vnd_vi(0) == "0 đ"
    assert num_vi(8.5) == "8,5"
    assert num_vi(1234.567, 2) == "1.234,57"
    assert num_en(1234.567, 2) == "1,234.57"
    assert num_vi(Decimal("14.29"), 0) == "14"


@given(st.integers(min_value=0, max_value=MAX_BUDGET_VND))
def test_what_we_write_reads_back(amount: int) -> None:
    assert parse_vnd(vnd_vi(amount)) == amount
    assert parse_vnd(vnd_en(amount)) == amount
    assert parse_vnd(str(amount)) == amount
    if amount >= MIN_BUDGET_VND:
        assert parse_budget(vnd_vi(amount)) == amount
        assert parse_budget(vnd_en(amount)) == amount
