"""A CSV register read into a raw sheet, within the import bounds, never holding more than a row.

The file must be UTF-8 (with or without BOM); comma, semicolon (Excel in the Vietnamese locale) or
tab separated, chosen from the first line. A cell starting with an apostrophe before ``=``, ``+``,
``-``, ``@`` loses that apostrophe: it is the text marker our export (and Excel) puts there so
that a spreadsheet never runs the cell as a formula.

Bounds (``RegisterBounds``): the file's size is checked first; then the text is read a record at
a time, each physical line read with a length limit, so a 100 MB cell or a row of a million
columns is refused after reading at most ``max_row_chars`` characters of it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from inventory.errors import RegisterFileError, RegisterTooLarge
from inventory.register_limits import (
    RawSheet,
    RegisterBounds,
    RowBudget,
    RowCollector,
    check_size,
    column_name,
    too_long,
    too_many_rows,
    too_wide,
)

# Excel's text marker before what would be a formula, as tables.to_csv writes it (one removed).
_QUOTED_FORMULA = re.compile(r"'+[=+\-@\t\r]")
_DELIMITERS = (",", ";", "\t")
_CHUNK = 1024 * 1024


class _RecordTooLong(Exception):
    """A CSV record runs past ``max_row_chars``; carries the line read so far."""

    def __init__(self, line: str, continued: bool) -> None:
        super().__init__("record too long")
        self.line = line
        self.continued = continued


class _Lines:
    """Physical lines for ``csv.reader``, each read with a limit; a record may not exceed it."""

    def __init__(self, stream: io.TextIOWrapper, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.record_chars = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.stream.readline(self.limit - self.record_chars + 1)
        if not line:
            raise StopIteration
        continued = self.record_chars > 0
        self.record_chars += len(line)
        if self.record_chars > self.limit:
            raise _RecordTooLong(line, continued)
        return line


def _check_utf8(data: bytes) -> None:
    """Refuse a file that is not UTF-8, naming the first bad byte, without decoding it whole."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _CHUNK):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(data[start : start + _CHUNK], final=start + _CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            offset = start - pending + exc.start
            raise RegisterFileError(
                "tệp CSV không phải UTF-8; trong Excel chọn 'CSV UTF-8' khi lưu "
                f"(the CSV file is not UTF-8: save as 'CSV UTF-8'; byte {offset})"
            ) from exc


def _oversized(
    error: _RecordTooLong, delimiter: str, bounds: RegisterBounds, sheet: str, row: int
) -> RegisterTooLarge:
    """Which bound a record longer than ``max_row_chars`` breaks, judged from its line so far."""
    pieces = error.line.split(delimiter)
    if len(pieces) > bounds.max_columns and not error.continued:
        return too_wide(bounds, sheet, row, column_name(bounds.max_columns))
    longest = max(range(len(pieces)), key=lambda index: len(pieces[index]))
    column = "" if error.continued else column_name(longest)
    return too_long(bounds, sheet, row, column, min(len(pieces[longest]), len(error.line)))


def csv_sheet(data: bytes, *, sheet_name: str, bounds: RegisterBounds) -> RawSheet | None:
    """The header row and data rows of a CSV register, or None when it has no header row."""
    check_size(len(data), bounds)
    _check_utf8(data)
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    first_line = stream.readline(bounds.max_row_chars)
    delimiter = max(_DELIMITERS, key=first_line.count)
    stream.seek(0)
    lines = _Lines(stream, bounds.max_row_chars)
    collector = RowCollector(sheet_name, RowBudget(bounds))
    number = 0
    try:
        for number, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
            lines.record_chars = 0
            if number > bounds.max_rows:
                raise too_many_rows(bounds, sheet_name, number)
            cells = [cell[1:] if _QUOTED_FORMULA.match(cell) else cell for cell in row]
            if not collector.add(number, cells):
                break
    except _RecordTooLong as exc:
        raise _oversized(exc, delimiter, bounds, sheet_name, number + 1) from None
    except csv.Error as exc:
        # The csv module's own field limit (131,072 by default) is below a record's length bound.
        if "field larger than field limit" in str(exc):
            length = csv.field_size_limit()
            raise too_long(bounds, sheet_name, number + 1, "", length) from None
        raise RegisterFileError(f"tệp CSV hỏng (the CSV file is malformed: {exc})") from exc
    return collector.sheet()
