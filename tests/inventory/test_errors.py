"""Exceptions of the inventory carry the bad values and say where, in both languages."""

from __future__ import annotations

from decimal import Decimal

from inventory.errors import (
    ConfigError,
    ImportIssue,
    OverrideOutOfRange,
    RegisterFileError,
    RegisterRejected,
    RegisterTooLarge,
)


def test_an_import_issue_locates_the_cell() -> None:
    issue = ImportIssue(
        "Xã A", 5, "Mã xã", "unknown_commune", "không có mã xã", "no such code", "9"
    )
    assert issue.describe() == "sheet 'Xã A' row 5, column 'Mã xã': no such code (value '9')"
    assert issue.describe("vi").endswith("không có mã xã (value '9')")
    bare = ImportIssue("CSV", 1, "", "missing_column", "thiếu cột", "column missing")
    assert bare.describe() == "sheet 'CSV' row 1: column missing"


def test_a_rejection_counts_problems_and_quotes_the_first() -> None:
    first = ImportIssue("CSV", 3, "Ngày", "bad_date", "ngày sai", "not a date", "31/02")
    error = RegisterRejected([first, first])
    assert error.issues == (first, first)
    assert str(error).startswith("register rejected, nothing imported: 2 problem(s); first: ")
    assert "row 3" in str(error)


def test_a_bound_names_itself_its_value_and_where() -> None:
    error = RegisterTooLarge(
        "max_columns",
        60,
        reason_en="a value beyond the 60 columns",
        reason_vi="vượt quá 60 cột",
        sheet="Sổ tài sản",
        row=2,
        column="XFD",
    )
    assert isinstance(error, RegisterFileError)
    assert str(error) == (
        "sheet 'Sổ tài sản' row 2, column XFD: a value beyond the 60 columns; "
        "bound max_columns = 60 (vượt quá 60 cột); nothing was imported"
    )
    whole = RegisterTooLarge("max_bytes", 64 * 1024 * 1024, reason_en="too big", reason_vi="lớn")
    assert str(whole).startswith("file: too big; bound max_bytes = 67,108,864")
    assert (whole.sheet, whole.row, whole.column) == ("", None, "")


def test_config_errors_name_file_key_and_field() -> None:
    assert str(ConfigError("bad", file="lives.yaml", key="rule_sets[0]", field="rate")) == (
        "lives.yaml rule_sets[0], field 'rate': bad"
    )
    assert str(ConfigError("bad")) == "bad"
    override = OverrideOutOfRange(
        file="o.yaml",
        key="overrides[0]",
        base_rate=Decimal("20"),
        override_rate=Decimal("25"),
        max_change_percent=Decimal("20"),
    )
    assert "+25.00 %" in str(override)
    assert "16 % to 24 %" in str(override)
    assert override.field == "rate_percent"
