"""Report tables and their export to XLSX and CSV, with Vietnamese headers and number formats.

Every report (register, wear, priority, plan) is built as a ``Sheet`` of typed columns; the two
writers here turn sheets into bytes the API can send as a download. XLSX cells keep real numbers
and dates with the formats finance staff expect (``#,##0`` for VND, ``dd/mm/yyyy`` for dates);
CSV is UTF-8 with a byte-order mark so that Excel shows the diacritics.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

Lang = Literal["vi", "en"]
Cell = str | int | float | Decimal | date | bool | None

VND_FORMAT = "#,##0"
DATE_FORMAT = "dd/mm/yyyy"
DECIMAL_FORMAT = "0.00"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV or formula injection,
# OWASP): text from a register or from agents' device facts must stay text. CSV cells get Excel's
# own text marker, a leading apostrophe, which the register importer removes again.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
# Excel limits sheet names to 31 characters and forbids some punctuation.
_SHEET_NAME_FORBIDDEN = set("[]:*?/\\")


class ColumnType(StrEnum):
    """How a column's values are written and formatted."""

    TEXT = "text"
    INT = "int"
    VND = "vnd"
    DATE = "date"
    DECIMAL = "decimal"
    BOOL = "bool"


@dataclass(frozen=True)
class Column:
    """One column: its key, its headers (Vietnamese, English) and its type."""

    key: str
    header_vi: str
    header_en: str
    type: ColumnType = ColumnType.TEXT
    width: int | None = None

    def header(self, lang: Lang) -> str:
        """The header in ``lang``."""
        return self.header_vi if lang == "vi" else self.header_en


@dataclass(frozen=True)
class Sheet:
    """A named table of typed columns; rows hold one cell per column."""

    name_vi: str
    name_en: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"sheet {self.name_en!r} row {index}: {len(row)} cells for "
                    f"{len(self.columns)} columns"
                )
        for name in (self.name_vi, self.name_en):
            if len(name) > 31 or _SHEET_NAME_FORBIDDEN & set(name):
                raise ValueError(f"sheet name {name!r}: at most 31 characters, none of []:*?/\\")

    def name(self, lang: Lang) -> str:
        """The sheet name in ``lang``."""
        return self.name_vi if lang == "vi" else self.name_en


def _bool_text(value: bool, lang: Lang) -> str:
    if lang == "vi":
        return "Có" if value else "Không"
    return "Yes" if value else "No"


def _xlsx_value(value: Cell, column: Column, lang: Lang) -> Cell:
    if value is None:
        return None
    if isinstance(value, bool):
        return _bool_text(value, lang)
    if column.type is ColumnType.DECIMAL and isinstance(value, Decimal):
        # openpyxl writes Decimal as a number; float keeps it simple for every reader.
        return float(value)
    if isinstance(value, str):
        # Control characters are not allowed in XML (openpyxl raises): SNMP descriptions and
        # pasted cells carry some. They are invisible; dropping them is the only way to write.
        cleaned: str = ILLEGAL_CHARACTERS_RE.sub("", value)
        return cleaned
    return value


def to_xlsx(sheets: Sequence[Sheet], *, lang: Lang = "vi") -> bytes:
    """An XLSX workbook with one worksheet per sheet, headers bold and frozen."""
    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    bold = Font(bold=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(title=sheet.name(lang))
        for col_index, column in enumerate(sheet.columns, start=1):
            cell = worksheet.cell(row=1, column=col_index, value=column.header(lang))
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            width = column.width or max(12, min(45, len(column.header(lang)) + 2))
            worksheet.column_dimensions[get_column_letter(col_index)].width = width
        for row_index, row in enumerate(sheet.rows, start=2):
            for col_index, (column, value) in enumerate(zip(sheet.columns, row, strict=True), 1):
                cell = worksheet.cell(
                    row=row_index, column=col_index, value=_xlsx_value(value, column, lang)
                )
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                if column.type is ColumnType.VND or column.type is ColumnType.INT:
                    cell.number_format = VND_FORMAT
                elif column.type is ColumnType.DATE:
                    cell.number_format = DATE_FORMAT
                elif column.type is ColumnType.DECIMAL:
                    cell.number_format = DECIMAL_FORMAT
        worksheet.freeze_panes = "A2"
        if sheet.rows:
            worksheet.auto_filter.ref = worksheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(value: Cell, lang: Lang) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _bool_text(value, lang)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return str(value)


def to_csv(sheet: Sheet, *, lang: Lang = "vi") -> bytes:
    """The sheet as CSV: UTF-8 with BOM, comma-separated, dates dd/mm/yyyy, VND as plain digits.

    Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) is written after
    an apostrophe, Excel's text marker.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header(lang) for column in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_text(value, lang) for value in row])
    return buffer.getvalue().encode("utf-8-sig")
