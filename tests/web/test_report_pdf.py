"""The official report as a PDF (web/report_pdf.py): cells printed with the language's number
separators, every Vietnamese diacritic kept by the embedded font, and the same file for the same
figures."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from inventory.tables import Cell, Column, ColumnType, Lang
from tests.web.report_samples import hand_report
from web.report_pdf import cell_text, report_pdf

DECIMAL = Column("d", "", "", ColumnType.DECIMAL)
INT = Column("i", "", "", ColumnType.INT)
TEXT = Column("t", "", "")


@pytest.mark.parametrize(
    ("value", "column", "lang", "printed"),
    [
        (1234.5, DECIMAL, "vi", "1.234,50"),
        (1234.5, DECIMAL, "en", "1,234.50"),
        (7, DECIMAL, "en", "7.00"),
        (1234567, INT, "vi", "1.234.567"),
        (1234567, INT, "en", "1,234,567"),
        (None, INT, "vi", "-"),
        (None, TEXT, "en", "-"),
        ("1234.5", DECIMAL, "vi", "1234.5"),  # text in a number column is printed as it is
        ("Phường Phủ Lý", TEXT, "vi", "Phường Phủ Lý"),
        (99.99, TEXT, "vi", "99.99"),
    ],
)
def test_a_cell_is_printed_as_the_language_writes_numbers(
    value: Cell, column: Column, lang: Lang, printed: str
) -> None:
    assert cell_text(value, column, lang) == printed


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_prints_the_tables_with_their_vietnamese_words() -> None:
    data = report_pdf(hand_report(), "vi")
    assert data.startswith(b"%PDF-")
    text = _text(data)
    assert "Báo cáo tình hình hoạt động hệ thống CNTT tại các xã, phường" in text
    assert "Phường Phủ Lý" in text
    assert "Nhà mạng" in text
    assert "99,99" in text  # the floored availability, with the Vietnamese decimal comma
    assert "Cách tính" in text
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert (
        reader.metadata.title
        == "Báo cáo tình hình hoạt động hệ thống CNTT tại các xã, phường — tháng 03/2026"
    )


def test_the_english_pdf_and_an_empty_period() -> None:
    text = _text(report_pdf(hand_report(empty=True), "en"))
    assert "Report on the IT of the commune centres" in text
    assert text.count("Nothing in this period.") == 5  # one per table
    assert "Definitions" in text


def test_the_same_figures_make_the_same_file() -> None:
    assert report_pdf(hand_report(), "en") == report_pdf(hand_report(), "en")
