"""Hostile register files, built as an attacker would (issue 20, item 5), and a memory meter.

Workbooks are written part by part with ``zipfile`` so that every byte is the attacker's choice:
a cell in column XFD on every row, a part that unpacks a thousand times its size, a ZIP
directory that understates a part. ``peak_memory`` measures what the code under test allocates
(tracemalloc), not what the test built beforehand.
"""

from __future__ import annotations

import io
import itertools
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from xml.sax.saxutils import escape

MIB = 1024 * 1024
HEADERS = ("Mã tài sản", "Loại", "Mã xã", "Ngày đưa vào sử dụng")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_BOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


@dataclass
class Peak:
    """The most bytes allocated at once inside a ``peak_memory`` block."""

    bytes: int = 0

    @property
    def mib(self) -> float:
        """The peak in MiB."""
        return self.bytes / MIB


@contextmanager
def peak_memory() -> Iterator[Peak]:
    """Measure the peak of Python allocations made inside the block (tracemalloc)."""
    peak = Peak()
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def inline_cell(ref: str, text: str) -> str:
    """A cell holding ``text`` as an inline string."""
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def header_row(extra: str = "") -> str:
    """Row 1: the register's required headers, then ``extra`` cells."""
    cells = "".join(inline_cell(f"{col}1", text) for col, text in zip("ABCD", HEADERS, strict=True))
    return f'<row r="1">{cells}{extra}</row>'


def data_row(number: int, extra: str = "") -> str:
    """A plausible register line at ``number`` (a PC of commune 13285), then ``extra`` cells."""
    values = (f"T-{number}", "pc", "13285", "01/02/2024")
    cells = "".join(
        inline_cell(f"{col}{number}", text) for col, text in zip("ABCD", values, strict=True)
    )
    return f'<row r="{number}">{cells}{extra}</row>'


def sheet_xml(rows: Iterable[str], *, before: str = "") -> Iterator[bytes]:
    """A worksheet part, streamed: ``before`` goes ahead of the rows (a dimension, columns)."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">{before}<sheetData>'
    yield head.encode()
    for row in rows:
        yield row.encode()
    yield b"</sheetData></worksheet>"


def workbook(
    sheet: Iterable[bytes],
    *,
    title: str = "Sổ tài sản",
    strings: Iterable[bytes] | None = None,
    extra: dict[str, bytes] | None = None,
    sheet_part: str = "xl/worksheets/sheet1.xml",
) -> bytes:
    """A minimal XLSX package around one worksheet (and a shared strings part, if given)."""
    overrides = f'<Override PartName="/xl/workbook.xml" ContentType="{_BOOK_TYPE}"/>'
    rels = f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="/{sheet_part}"/>'
    if strings is not None:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_STRINGS_TYPE}"/>'
        rels += f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    parts: dict[str, Iterable[bytes]] = {
        "[Content_Types].xml": [
            f'<Types xmlns="{_TYPES}"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'.encode()
        ],
        "_rels/.rels": [
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'.encode()
        ],
        "xl/workbook.xml": [
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{escape(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>'.encode()
        ],
        "xl/_rels/workbook.xml.rels": [
            f'<Relationships xmlns="{_PKG}">{rels}</Relationships>'.encode()
        ],
        sheet_part: sheet,
    }
    if strings is not None:
        parts["xl/sharedStrings.xml"] = strings
    for name, content in (extra or {}).items():
        parts[name] = [content]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in parts.items():
            with archive.open(name, "w") as part:
                for chunk in chunks:
                    part.write(chunk)
    return buffer.getvalue()


def xfd_register(rows: int = 20_000) -> bytes:
    """Issue 20's finding: a small register with one cell in column XFD on each of ``rows`` rows."""
    far = (inline_cell(f"XFD{n}", "x") for n in range(1, rows + 2))
    lines = (header_row(next(far)), *(data_row(n, next(far)) for n in range(2, rows + 2)))
    return workbook(sheet_xml(lines))


def repeated(unit: bytes, total: int) -> Iterator[bytes]:
    """``unit`` repeated to ``total`` bytes, in chunks of about a MiB (never held whole)."""
    chunk = unit * max(1, MIB // len(unit))
    for _ in range(total // len(chunk)):
        yield chunk


def shared_strings_bomb(unpacked: int = 256 * MIB) -> bytes:
    """A register whose shared strings part unpacks to ``unpacked`` bytes, a thousand to one."""
    strings = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">'.encode(),
        *repeated(b"<si><t>x</t></si>", unpacked),
        b"</sst>",
    )
    return workbook(sheet_xml([header_row()]), strings=_chain(strings))


def sheet_bomb(unpacked: int) -> bytes:
    """A register whose worksheet unpacks to ``unpacked`` bytes of empty formatted cells."""
    cells = repeated_text('<c s="0"/>', unpacked)
    return workbook(sheet_xml(itertools.chain([header_row(), '<row r="2">'], cells, ["</row>"])))


def repeated_text(unit: str, total: int) -> Iterator[str]:
    """``unit`` repeated to ``total`` characters, in chunks of about a MiB."""
    chunk = unit * max(1, MIB // len(unit))
    for _ in range(total // len(chunk)):
        yield chunk


def understated(data: bytes, name: str, size: int) -> bytes:
    """``data`` with the ZIP directory claiming part ``name`` unpacks to only ``size`` bytes."""
    out = bytearray(data)
    position = out.find(b"PK\x01\x02")
    encoded = name.encode()
    while position >= 0:
        name_length = int.from_bytes(out[position + 28 : position + 30], "little")
        if out[position + 46 : position + 46 + name_length] == encoded:
            out[position + 24 : position + 28] = size.to_bytes(4, "little")
            return bytes(out)
        position = out.find(b"PK\x01\x02", position + 4)
    raise KeyError(name)


def huge_cell_csv(cell_bytes: int) -> bytes:
    """A CSV register whose second row is one cell of ``cell_bytes`` characters."""
    return ",".join(HEADERS).encode() + b"\n" + b"A" * cell_bytes + b"\n"


def wide_csv(columns: int, rows: int = 5) -> bytes:
    """A CSV register with ``columns`` extra columns of the office's own on every row."""
    header = ",".join((*HEADERS, *(f"Ghi chú {k}" for k in range(columns))))
    extra = "," + ",".join("x" for _ in range(columns))
    lines = [header, *(f"T-{n},pc,13285,01/02/2024{extra}" for n in range(rows))]
    return ("\n".join(lines) + "\n").encode()


def _chain(chunks: Iterable[bytes | Iterable[bytes]]) -> Iterator[bytes]:
    for chunk in chunks:
        if isinstance(chunk, bytes):
            yield chunk
        else:
            yield from chunk
