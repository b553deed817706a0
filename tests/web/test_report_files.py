"""The official report as files (web/report_files.py): the format taken from a file name, the
download's name, and a workbook that keeps real numbers after a cover sheet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.web.report_samples import hand_report
from web.report_files import (
    MEDIA_TYPES,
    ReportFormatError,
    cover_sheet,
    file_name,
    format_of,
    report_bytes,
)
from web.report_tables import definitions


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("bao-cao.pdf", "pdf"),
        ("REPORT.PDF", "pdf"),
        ("out/bao-cao.xlsx", "xlsx"),
        ("a.XlSx", "xlsx"),
    ],
)
def test_the_format_is_taken_from_the_suffix(name: str, fmt: str) -> None:
    assert format_of(Path(name)) == fmt


@pytest.mark.parametrize("name", ["report.csv", "report", "report.pdf.txt", "xlsx"])
def test_another_suffix_is_refused_naming_the_field(name: str) -> None:
    with pytest.raises(ReportFormatError) as caught:
        format_of(Path(name), "output")
    assert caught.value.field == "output"
    assert str(caught.value).startswith(f"field 'output': {name!r} must end in .pdf or .xlsx")


def test_a_long_name_is_cut_in_the_refusal() -> None:
    with pytest.raises(ReportFormatError) as caught:
        format_of(Path("x" * 500 + ".doc"))
    assert "x" * 81 not in str(caught.value)


def test_the_download_is_named_by_the_period_in_ascii() -> None:
    assert file_name(hand_report(), "pdf") == "bao-cao-2026-03.pdf"
    assert file_name(hand_report(), "xlsx") == "bao-cao-2026-03.xlsx"
    assert set(MEDIA_TYPES) == {"pdf", "xlsx"}


def test_the_cover_sheet_has_title_period_and_definitions() -> None:
    sheet = cover_sheet(hand_report(), "en")
    assert sheet.rows[0] == ("Report on the IT of the commune centres", "")
    assert ("Period", "March 2026 (2026-03)") in sheet.rows
    assert [row[1] for row in sheet.rows[-3:]] == definitions("en")
    assert {row[0] for row in sheet.rows[-3:]} == {"Definitions"}


def test_the_workbook_keeps_numbers_after_a_cover_sheet() -> None:
    data = report_bytes(hand_report(), "xlsx", "en")
    assert data[:2] == b"PK"
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == [
        "Report",
        "Summary",
        "Down longest",
        "Incidents by class",
        "SLA per owner",
        "Communes",
    ]
    communes = workbook["Communes"]
    rows = list(communes.iter_rows(values_only=True))
    assert rows[0][0] == "Code"
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code["14134"][4] == 99.14
    assert isinstance(by_code["14134"][5], int)
    assert by_code["13999"][4] is None
    vietnamese = load_workbook(io.BytesIO(report_bytes(hand_report(), "xlsx")))
    assert vietnamese.sheetnames[0] == "Báo cáo"


def test_a_pdf_is_asked_for_by_its_format() -> None:
    assert report_bytes(hand_report(), "pdf").startswith(b"%PDF-")
