"""An XLSX register read into raw sheets with openpyxl's read-only mode, after ``xlsx_guard``.

Every sheet whose first rows hold an 'Asset tag' / 'Mã tài sản' header is read; other sheets
(instructions, summaries) are skipped. Rows are asked of openpyxl up to the last row the guard saw
a value in and ``max_columns`` wide, never sized from the ``dimension`` the file declares (which
can lie, and which a read-only worksheet would otherwise trust).
"""

from __future__ import annotations

import io
import warnings

from openpyxl import load_workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from inventory.errors import RegisterFileError
from inventory.register_limits import RawSheet, RegisterBounds, RowBudget, RowCollector
from inventory.xlsx_guard import DAMAGED, check_workbook, damaged


def xlsx_sheets(data: bytes, *, bounds: RegisterBounds) -> list[RawSheet]:
    """The register sheets of an XLSX workbook (those with a header row), within the bounds."""
    last_rows = check_workbook(data, bounds)
    workbook = None
    budget = RowBudget(bounds)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it drops (data validation, conditional
            # formats); they do not change cell values, so they are not the user's problem.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(
                io.BytesIO(data), read_only=True, data_only=True, keep_links=False
            )
            sheets = []
            for worksheet in workbook.worksheets:
                last = min(last_rows.get(worksheet.title, bounds.max_rows), bounds.max_rows)
                raw = _read_sheet(worksheet, last, bounds, budget) if last else None
                if raw is not None:
                    sheets.append(raw)
            return sheets
    except RegisterFileError:
        raise
    except DAMAGED as exc:
        raise damaged(f"{exc.__class__.__name__}: {exc}") from exc
    finally:
        if workbook is not None:
            workbook.close()


def _read_sheet(
    worksheet: ReadOnlyWorksheet, last_row: int, bounds: RegisterBounds, budget: RowBudget
) -> RawSheet | None:
    collector = RowCollector(worksheet.title, budget)
    rows = worksheet.iter_rows(max_row=last_row, max_col=bounds.max_columns, values_only=True)
    for number, values in enumerate(rows, start=1):
        if not collector.add(number, values):
            break
    return collector.sheet()
