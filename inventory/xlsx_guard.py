"""The guard an XLSX register passes before openpyxl opens it: its ZIP directory, then its XML.

openpyxl, even in read-only mode, builds what the file tells it to (issue 20, item 5: a 96 KB file
with one cell in column XFD on 20,000 rows took 2.3 GB):

* a read-only worksheet makes every row as wide as its rightmost cell, and sizes itself from the
  ``dimension`` the file declares, which can lie;
* it parses the styles, workbook and relationship parts whole, keeps every shared string, and
  keeps every XML element it does not know (outside rows) for as long as it reads the part;
* it builds all the cells of a row before handing the row over.

So, before openpyxl sees anything: the ZIP's end record bounds how many parts there are; the
central directory bounds their unpacked size, in total and per part, and their compression ratio
(``zipfile`` never yields more than a part's declared size and fails on a wrong CRC, so the
declared sizes are a real bound); then every XML part is streamed through expat with counters only
(memory constant), checking what openpyxl would build: rows with a value within ``max_rows``,
values within ``max_columns``, cells within ``max_cell_chars``, cell elements, shared strings, and
elements held at once. A DOCTYPE is refused (no spreadsheet needs one; entity tricks do).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO
from xml.parsers import expat

from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import CellCoordinatesException

from inventory.errors import RegisterFileError, RegisterTooLarge
from inventory.register_limits import (
    MIB,
    RegisterBounds,
    check_size,
    too_long,
    too_many_rows,
    too_wide,
)

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
# expat reports a namespaced name as "uri}local" with this separator (openpyxl: "{uri}local").
_ROW, _VALUE, _INLINE = f"{_MAIN}}}row", f"{_MAIN}}}v", f"{_MAIN}}}is"
_STRING = f"{_MAIN}}}si"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_OFFICE_DOCUMENT = "/officeDocument"
_EOCD = b"PK\x05\x06"
_EOCD_SIZE, _MAX_COMMENT = 22, 65_535
# A central directory entry is 46 bytes plus its name and extras; 1 KiB each is generous.
_DIRECTORY_ENTRY_BYTES = 1024
# Small parts may pack as well as they like; the ratio bound applies above this size.
_RATIO_FROM = MIB
_CHUNK = 64 * 1024
# What openpyxl, zipfile and expat raise on a damaged file (besides our own errors).
DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    expat.ExpatError,
    KeyError,
    IndexError,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    NotImplementedError,
    CellCoordinatesException,
)


def damaged(detail: str) -> RegisterFileError:
    """The error for a file that is not a readable XLSX workbook."""
    return RegisterFileError(
        "tệp không phải XLSX hợp lệ hoặc bị hỏng (not a valid XLSX workbook, or damaged: "
        f"{detail[:200]})"
    )


def check_workbook(data: bytes, bounds: RegisterBounds) -> dict[str, int]:
    """Refuse an XLSX file that breaks a bound, before anything of it is parsed by openpyxl.

    Returns, by sheet title, the last row holding a value (0: none), for reading no further.
    """
    check_size(len(data), bounds)
    _check_end_record(data, bounds)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            _check_directory(infos, bounds)
            package = _Package.read(archive, bounds)
            totals = _Totals(bounds)
            for info in infos:
                with archive.open(info) as stream:
                    head = stream.read(_CHUNK)
                    if package.parsed_as_xml(info.filename, head):
                        _PartScan(info, package, totals).run(head, stream)
            return totals.last_rows
    except RegisterFileError:
        raise
    except DAMAGED as exc:
        raise damaged(f"{exc.__class__.__name__}: {exc}") from exc


def _too_many_parts(bounds: RegisterBounds, what: str) -> RegisterTooLarge:
    return RegisterTooLarge(
        "max_parts",
        bounds.max_parts,
        reason_en=f"the ZIP directory lists {what}; an XLSX register has at most "
        f"{bounds.max_parts:,} parts",
        reason_vi=f"tệp XLSX có quá {bounds.max_parts} thành phần",
    )


def _check_end_record(data: bytes, bounds: RegisterBounds) -> None:
    """Bound the ZIP directory from its end record, before ``zipfile`` reads every entry."""
    position = data.rfind(_EOCD, max(0, len(data) - _EOCD_SIZE - _MAX_COMMENT))
    if position < 0 or len(data) - position < _EOCD_SIZE:
        raise damaged("no ZIP end-of-directory record")
    entries = int.from_bytes(data[position + 10 : position + 12], "little")
    size = int.from_bytes(data[position + 12 : position + 16], "little")
    if entries > bounds.max_parts:
        raise _too_many_parts(bounds, f"{entries:,} parts")
    if size > bounds.max_parts * _DIRECTORY_ENTRY_BYTES:
        raise _too_many_parts(bounds, f"a directory of {size:,} bytes")


def _check_directory(infos: list[zipfile.ZipInfo], bounds: RegisterBounds) -> None:
    """Bound the parts by their declared sizes: in total, and packed against unpacked."""
    if len(infos) > bounds.max_parts:
        raise _too_many_parts(bounds, f"{len(infos):,} parts")
    unpacked = sum(info.file_size for info in infos)
    check_size(unpacked, bounds, what="the workbook unpacked", what_vi="tệp XLSX khi giải nén")
    limit = bounds.max_compression_ratio
    for info in infos:
        if info.flag_bits & 0x1:
            raise damaged(f"part {info.filename!r} is encrypted")
        packed = max(1, info.compress_size)
        if info.file_size > _RATIO_FROM and info.file_size > limit * packed:
            ratio = info.file_size // packed
            raise RegisterTooLarge(
                "max_compression_ratio",
                limit,
                reason_en=f"part {info.filename!r} unpacks to {info.file_size:,} bytes from "
                f"{info.compress_size:,} ({ratio:,} times; a ZIP bomb?), at most {limit} times",
                reason_vi=f"thành phần {info.filename!r} giải nén gấp {ratio} lần (tối đa {limit})",
            )


def _attributes(
    archive: zipfile.ZipFile, name: str, local: str, bounds: RegisterBounds
) -> list[dict[str, str]]:
    """Attributes (by local name) of the elements ``local`` of a small part; [] if none."""
    found: list[dict[str, str]] = []
    try:
        info = archive.getinfo(name)
    except KeyError:
        return found
    if info.file_size > bounds.max_part_bytes:
        return found  # the scan refuses it with the bound named

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.rpartition("}")[2] == local and len(found) < bounds.max_parts:
            found.append({key.rpartition("}")[2]: value for key, value in attrs.items()})

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.StartElementHandler = start
    parser.Parse(archive.read(info), True)
    return found


def _refuse_doctype(*_: object) -> None:
    raise damaged("a part declares a DOCTYPE")


def _targets(
    archive: zipfile.ZipFile, source: str, bounds: RegisterBounds
) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, part name) of the relationships of ``source``."""
    folder, base = posixpath.split(source)
    rels = posixpath.join(folder, "_rels", f"{base}.rels")
    out: dict[str, tuple[str, str]] = {}
    for rel in _attributes(archive, rels, "Relationship", bounds):
        target = rel.get("Target", "")
        part = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(part))
    return out


@dataclass(frozen=True)
class _Package:
    """Which parts openpyxl reads as worksheets (with their titles) and as shared strings."""

    sheets: dict[str, str]
    strings: frozenset[str]

    @classmethod
    def read(cls, archive: zipfile.ZipFile, bounds: RegisterBounds) -> _Package:
        """From the content types and the workbook's relationships, as openpyxl finds them."""
        types = {
            item.get("PartName", "").lstrip("/"): item.get("ContentType", "")
            for item in _attributes(archive, "[Content_Types].xml", "Override", bounds)
        }
        workbook = next(
            (
                part
                for kind, part in _targets(archive, "", bounds).values()
                if kind.endswith(_OFFICE_DOCUMENT)
            ),
            "xl/workbook.xml",
        )
        targets = _targets(archive, workbook, bounds)
        sheets = {part: part for part, kind in types.items() if kind == _SHEET_TYPE}
        for sheet in _attributes(archive, workbook, "sheet", bounds):
            _, part = targets.get(sheet.get("id", ""), ("", ""))
            if part:
                sheets[part] = sheet.get("name", part)
        strings = {part for part, kind in types.items() if kind == _STRINGS_TYPE}
        return cls(sheets, frozenset(strings))

    def parsed_as_xml(self, part: str, head: bytes) -> bool:
        """Whether openpyxl may parse this part as XML: by its name, its role, or its content."""
        return (
            part.lower().endswith((".xml", ".rels"))
            or part in self.sheets
            or part in self.strings
            or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
        )


@dataclass
class _Totals:
    """Counts over every part of one workbook."""

    bounds: RegisterBounds
    cells: int = 0
    valued_rows: int = 0
    last_rows: dict[str, int] = field(default_factory=dict)


class _Skip(Exception):
    """A part openpyxl never reads (the calculation chain): counted in the total size only."""


class _PartScan:
    """One XML part streamed through expat, counting what openpyxl would build from it."""

    def __init__(self, info: zipfile.ZipInfo, package: _Package, totals: _Totals) -> None:
        self.part = info.filename
        self.size = info.file_size
        self.title = package.sheets.get(self.part, "")
        self.package = package
        self.totals = totals
        self.bounds = totals.bounds
        self.kind = ""
        self.depth = 0
        self.held = 0  # elements openpyxl keeps while it reads the part
        self.loose_chars = 0  # text outside rows (worksheet) or strings (shared strings)
        self.row = self.row_depth = self.row_elements = self.row_chars = 0
        self.row_valued = False
        self.last_valued = 0
        self.column = self.cell_chars = self.value_depth = 0
        self.cell_valued = False
        self.strings = self.string_depth = self.string_elements = self.string_chars = 0

    def run(self, head: bytes, stream: IO[bytes]) -> None:
        """Parse the part (``head`` then the rest of ``stream``), raising ``RegisterTooLarge`` at
        the first bound it breaks."""
        parser = expat.ParserCreate(namespace_separator="}")
        parser.StartDoctypeDeclHandler = _refuse_doctype
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        try:
            chunk = head
            while chunk:
                parser.Parse(chunk, False)
                chunk = stream.read(_CHUNK)
            parser.Parse(b"", True)
        except _Skip:
            return
        if self.kind == "sheet" and self.title:
            last_rows = self.totals.last_rows
            last_rows[self.title] = max(last_rows.get(self.title, 0), self.last_valued)

    def _too_large(self, bound: str, limit: int, en: str, vi: str) -> RegisterTooLarge:
        row = self.row if self.row_depth else None
        return RegisterTooLarge(bound, limit, reason_en=en, reason_vi=vi, sheet=self.title, row=row)

    def _hold(self) -> None:
        self.held += 1
        if self.held > self.bounds.max_xml_elements:
            limit = self.bounds.max_xml_elements
            where = " outside its rows" if self.kind == "sheet" else ""
            raise self._too_large(
                "max_xml_elements",
                limit,
                f"part {self.part!r} holds more than {limit:,} XML elements{where}",
                f"thành phần {self.part!r} có quá {limit} phần tử XML",
            )

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth == 1:
            self._root(name.rpartition("}")[2])
        elif self.kind == "sheet":
            self._sheet_start(name, attrs)
        elif self.kind == "strings":
            self._strings_start(name)
        else:
            self._hold()

    def _root(self, local: str) -> None:
        if local == "sst" or self.part in self.package.strings:
            self.kind = "strings"
        elif local == "worksheet" or self.part in self.package.sheets:
            self.kind = "sheet"
        elif self.part.endswith("calcChain.xml"):
            raise _Skip
        elif self.size > self.bounds.max_part_bytes:
            limit = self.bounds.max_part_bytes
            raise self._too_large(
                "max_part_bytes",
                limit,
                f"part {self.part!r} unpacks to {self.size:,} bytes; parts other than the sheets "
                f"and shared strings are at most {limit // MIB} MiB",
                f"thành phần {self.part!r} vượt quá {limit // MIB} MiB",
            )
        else:
            # Parsed whole by openpyxl (styles, workbook, relationships, properties, charts).
            self.kind = "other"

    def _sheet_start(self, name: str, attrs: dict[str, str]) -> None:
        if not self.row_depth:
            if name == _ROW:
                self._row_start(attrs)
            else:
                self._hold()
            return
        self.row_elements += 1
        if self.row_elements > self.bounds.max_xml_elements:
            limit = self.bounds.max_xml_elements
            raise self._too_large(
                "max_xml_elements",
                limit,
                f"a row of more than {limit:,} XML elements",
                f"dòng có quá {limit} phần tử XML",
            )
        if self.depth == self.row_depth + 1:
            self._cell_start(attrs)
        elif self.depth == self.row_depth + 2 and name in (_VALUE, _INLINE):
            self.value_depth = self.depth

    def _row_start(self, attrs: dict[str, str]) -> None:
        text = attrs.get("r")
        row = self.row + 1 if text is None else _row_number(text)
        if row <= self.row:
            # The format keeps rows in order; openpyxl would skip such a row but keep its element.
            raise damaged(f"{self.title or self.part!r}: row {row} comes after row {self.row}")
        self.row, self.row_depth = row, self.depth
        self.row_elements = self.row_chars = self.column = 0
        self.row_valued = False

    def _cell_start(self, attrs: dict[str, str]) -> None:
        coordinate = attrs.get("r")
        self.column = coordinate_to_tuple(coordinate)[1] if coordinate else self.column + 1
        self.cell_chars = 0
        self.cell_valued = False
        if self.row <= self.bounds.max_rows:
            self.totals.cells += 1
            if self.totals.cells > self.bounds.max_cells:
                limit = self.bounds.max_cells
                raise self._too_large(
                    "max_cells",
                    limit,
                    f"more than {limit:,} cells (formatted empty ones included)",
                    f"tệp có quá {limit} ô (kể cả ô trống có định dạng)",
                )

    def _strings_start(self, name: str) -> None:
        if self.string_depth:
            self.string_elements += 1
            if self.string_elements > self.bounds.max_xml_elements:
                raise self._too_large(
                    "max_xml_elements",
                    self.bounds.max_xml_elements,
                    f"shared string {self.strings} holds too many XML elements",
                    "một chuỗi dùng chung có quá nhiều phần tử XML",
                )
        elif name == _STRING:
            self._string_start()
        else:
            self._hold()

    def _string_start(self) -> None:
        self.strings += 1
        self.string_depth = self.depth
        self.string_elements = self.string_chars = 0
        if self.strings > self.bounds.max_shared_strings:
            limit = self.bounds.max_shared_strings
            raise self._too_large(
                "max_shared_strings",
                limit,
                f"more than {limit:,} distinct texts (shared strings)",
                f"tệp có quá {limit} chuỗi ký tự dùng chung",
            )

    def _end(self, _name: str) -> None:
        depth = self.depth
        self.depth -= 1
        if depth == self.value_depth:
            self.value_depth = 0
        if not self.row_depth:
            if depth == self.string_depth:
                self.string_depth = 0
        elif depth == self.row_depth + 1:
            self._cell_end()
        elif depth == self.row_depth:
            self._row_end()

    def _cell_end(self) -> None:
        if not self.cell_valued:
            return
        self.row_valued = True
        if self.row > self.bounds.max_rows:
            raise too_many_rows(self.bounds, self.title, self.row)
        if self.column > self.bounds.max_columns:
            raise too_wide(self.bounds, self.title, self.row, _letter(self.column))

    def _row_end(self) -> None:
        self.row_depth = 0
        if self.row_valued:
            self.last_valued = self.row
            self.totals.valued_rows += 1
            if self.totals.valued_rows > self.bounds.max_rows:
                raise too_many_rows(self.bounds, self.title, self.row)

    def _text(self, data: str) -> None:
        if self.row_depth:
            self._row_text(data)
        elif self.string_depth:
            self.string_chars += len(data)
            if self.string_chars > self.bounds.max_cell_chars:
                limit = self.bounds.max_cell_chars
                raise self._too_large(
                    "max_cell_chars",
                    limit,
                    f"shared string {self.strings} has {self.string_chars:,} characters or more; "
                    f"a cell holds at most {limit:,}",
                    f"chuỗi dùng chung thứ {self.strings} dài quá {limit} ký tự",
                )
        else:
            self.loose_chars += len(data)
            if self.loose_chars > self.bounds.max_part_bytes:
                limit = self.bounds.max_part_bytes
                raise self._too_large(
                    "max_part_bytes",
                    limit,
                    f"part {self.part!r} holds more than {limit // MIB} MiB of text outside cells",
                    f"thành phần {self.part!r} có quá {limit // MIB} MiB văn bản ngoài ô",
                )

    def _row_text(self, data: str) -> None:
        self.row_chars += len(data)
        in_cell = self.depth > self.row_depth
        if in_cell:
            self.cell_chars += len(data)
        if self.cell_chars > self.bounds.max_cell_chars or (
            self.row_chars > self.bounds.max_row_chars
        ):
            column = _letter(self.column) if in_cell else ""
            raise too_long(self.bounds, self.title, self.row, column, max(self.cell_chars, 1))
        if self.value_depth and not self.cell_valued and not data.isspace():
            self.cell_valued = True


def _row_number(text: str) -> int:
    """A row's "r" as openpyxl reads it: an integer, possibly written as ``5.0``."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise ValueError(f"{text} is not a valid row number") from None
        return int(value)


def _letter(column: int) -> str:
    return get_column_letter(column) if 1 <= column <= 18_278 else f"#{column}"
