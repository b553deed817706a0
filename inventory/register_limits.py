"""The bounds of a register import, and the row collector that holds a sheet within them.

Invariant 7 of DESIGN.md: every imported file is bounded in rows, columns, cell length and size,
and refused with the bound named (``RegisterTooLarge``). The defaults are sized for a province
register of at most ~10,000 assets (the largest province of the synthetic fleet, Hồ Chí Minh City
with 168 communes, has 8,793):

* ``max_rows`` 20,000: twice the largest province, header and title rows included. A whole
  register of that size holds ~60 MiB of Python objects while it is validated.
* ``max_columns`` 60: the register has 21 columns; offices add their own (notes, numbering), and
  three times ours leaves room for them. A value further right is refused, not ignored: a known
  column placed there would otherwise be lost without a word.
* ``max_cell_chars`` 2,000: our longest field is 200 characters (brand, model, room); 2,000 leaves
  room for an office's notes column. Excel allows 32,767.
* ``max_bytes`` 64 MiB: the file as given, and an XLSX once unpacked. Our export of 8,793 assets
  is 1.5 MB as CSV and unpacks to 8.2 MB as XLSX, so this is about seven times a province.
* ``max_compression_ratio`` 100: an XLSX part of more than 1 MiB may unpack to at most 100 times
  its packed size. Our export's worksheet packs 8.6 times; a ZIP bomb packs about 1,000 times
  (deflate's limit).
* ``max_parts`` 1,000: parts of an XLSX (ZIP members); our export has 9, and each more sheet adds
  one or two, so a sheet per commune of the largest province is still within it.
* ``max_cells`` 1,200,000 (rows × columns): cell elements of the worksheets, formatted empty ones
  included, that openpyxl would parse; bounds the parsing time (a few seconds).
* ``max_shared_strings`` 200,000: distinct texts of an XLSX (openpyxl keeps them all); ten per row.
* ``max_part_bytes`` 4 MiB: any other XML part once unpacked (styles, workbook, relationships,
  properties), which openpyxl parses whole; ours are at most 10 KB.
* ``max_xml_elements`` 100,000: XML elements openpyxl holds at once: inside one row, inside one
  shared string, outside the rows of a worksheet, or in another part it parses whole (a 4 MiB
  styles part of 233,000 elements took openpyxl 164 MiB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from inventory.errors import RegisterTooLarge
from inventory.register_cells import cell_text
from inventory.register_columns import TAG_HEADERS, normalize_header

# The header row may sit below a title block: the first ten rows are searched.
HEADER_SEARCH_ROWS = 10
MIB = 1024 * 1024


@dataclass(frozen=True)
class RegisterBounds:
    """The most a register file may hold; see the module docstring for each default."""

    max_rows: int = 20_000
    max_columns: int = 60
    max_cell_chars: int = 2_000
    max_bytes: int = 64 * MIB
    max_compression_ratio: int = 100
    max_parts: int = 1_000
    max_cells: int = 1_200_000
    max_shared_strings: int = 200_000
    max_part_bytes: int = 4 * MIB
    max_xml_elements: int = 100_000

    @property
    def max_row_chars(self) -> int:
        """The longest a CSV record within the bounds can be: every cell full and quoted with its
        quotes doubled, separators, and a line end."""
        return self.max_columns * (2 * self.max_cell_chars + 3) + 2


def column_name(index: int, headers: Sequence[str] = ()) -> str:
    """``Q ('Ghi chú')`` for the 0-based column ``index``: its letter and, if known, its header."""
    letter = get_column_letter(index + 1) if index < 16_384 else f"#{index + 1}"
    header = headers[index] if index < len(headers) else ""
    return f"{letter} ({header!r})" if header else letter


def check_size(
    size: int, bounds: RegisterBounds, *, what: str = "the file", what_vi: str = "tệp"
) -> None:
    """Refuse ``size`` bytes beyond ``max_bytes`` (the file, or an XLSX once unpacked)."""
    if size > bounds.max_bytes:
        limit = bounds.max_bytes
        raise RegisterTooLarge(
            "max_bytes",
            limit,
            reason_en=f"{what} is {size:,} bytes, more than a register's {limit // MIB} MiB",
            reason_vi=f"{what_vi} {size} byte, vượt quá {limit // MIB} MiB cho phép của sổ tài sản",
        )


def too_many_rows(bounds: RegisterBounds, sheet: str, row: int) -> RegisterTooLarge:
    """The file goes on past ``max_rows`` rows."""
    limit = bounds.max_rows
    return RegisterTooLarge(
        "max_rows",
        limit,
        reason_en=f"more than {limit:,} rows; split the register into several files",
        reason_vi=f"tệp có hơn {limit} dòng; hãy chia sổ tài sản thành nhiều tệp",
        sheet=sheet,
        row=row,
    )


def too_wide(bounds: RegisterBounds, sheet: str, row: int, column: str) -> RegisterTooLarge:
    """A value sits right of column ``max_columns``."""
    limit = bounds.max_columns
    return RegisterTooLarge(
        "max_columns",
        limit,
        reason_en=f"a value beyond the {limit} columns a register may use",
        reason_vi=f"có dữ liệu vượt quá {limit} cột của sổ tài sản",
        sheet=sheet,
        row=row,
        column=column,
    )


def too_long(
    bounds: RegisterBounds, sheet: str, row: int | None, column: str, length: int
) -> RegisterTooLarge:
    """A cell holds ``length`` characters or more, beyond ``max_cell_chars``."""
    limit = bounds.max_cell_chars
    return RegisterTooLarge(
        "max_cell_chars",
        limit,
        reason_en=f"a cell of {length:,} characters or more; a cell holds at most {limit:,}",
        reason_vi=f"ô dài từ {length} ký tự trở lên; mỗi ô tối đa {limit} ký tự",
        sheet=sheet,
        row=row,
        column=column,
    )


@dataclass(frozen=True)
class RawSheet:
    """A sheet as read: its header row and its non-blank data rows (numbered as in the file)."""

    name: str
    header_row: int
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[Any, ...]], ...]


@dataclass
class RowBudget:
    """Rows holding a value across every sheet of one file, against ``max_rows``."""

    bounds: RegisterBounds
    used: int = 0

    def take(self, sheet: str, row: int) -> None:
        """Count one row; past the bound raise ``RegisterTooLarge``."""
        self.used += 1
        if self.used > self.bounds.max_rows or row > self.bounds.max_rows:
            raise too_many_rows(self.bounds, sheet, row)


@dataclass
class RowCollector:
    """Takes the rows of one sheet in order, keeps the header row and the non-blank data rows.

    Each row is checked before it is kept: no value right of ``max_columns``, no text longer
    than ``max_cell_chars``, at most ``max_rows`` rows with a value in the file.
    """

    name: str
    budget: RowBudget
    header_row: int = 0
    headers: tuple[str, ...] = ()
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)

    def add(self, number: int, values: Sequence[Any]) -> bool:
        """Take row ``number`` (1-based); False once the sheet has no header in its first rows."""
        if not self.header_row and number > HEADER_SEARCH_ROWS:
            return False
        last = _last_value(values)
        if last < 0:
            return True
        bounds = self.budget.bounds
        self.budget.take(self.name, number)
        if last >= bounds.max_columns:
            raise too_wide(bounds, self.name, number, column_name(last, self.headers))
        for index in range(last + 1):
            value = values[index]
            if isinstance(value, str) and len(value) > bounds.max_cell_chars:
                column = column_name(index, self.headers)
                raise too_long(bounds, self.name, number, column, len(value))
        kept = tuple(values[: last + 1])
        if self.header_row:
            self.rows.append((number, kept))
        elif any(normalize_header(cell_text(value)) in TAG_HEADERS for value in kept):
            self.header_row = number
            self.headers = tuple(cell_text(value) for value in kept)
        return True

    def sheet(self) -> RawSheet | None:
        """The sheet read, or None when no header row was found."""
        if not self.header_row:
            return None
        return RawSheet(self.name, self.header_row, self.headers, tuple(self.rows))


def _last_value(values: Sequence[Any]) -> int:
    """Index of the last cell holding something other than blank text, or -1."""
    for index in range(len(values) - 1, -1, -1):
        if cell_text(values[index]) != "":
            return index
    return -1
