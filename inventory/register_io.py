"""Import the asset register from CSV or XLSX, all or nothing, and export it and the reports.

Headers may be Vietnamese with diacritics ("Mã tài sản", "Nguyên giá (VNĐ)"), Vietnamese without
them, or English ("Asset tag"); matching ignores case, diacritics, spaces and punctuation. The
header row may sit below a title block (the first ten rows are searched). An import either
returns every record or raises ``RegisterRejected`` carrying one ``ImportIssue`` per problem
(sheet, row, column, reason): a bad date, a negative or fractional cost, an unknown commune code,
kind or status, a duplicate tag or serial. Nothing is ever half imported.

Choices documented here because registers come from many offices:

* Dates: ``dd/mm/yyyy`` (also ``-`` or ``.``), ISO ``yyyy-mm-dd``, real spreadsheet dates, and
  month or year only (``08/2023``, ``2023-08``, ``2023``) taken as the first day: wear counts
  fiscal years, so the day does not change any figure.
* Commune codes with fewer than five digits are zero-padded (``70`` → ``00070``) because Excel
  strips leading zeros from number-looking cells; the padded code must still be a known code.
* Costs: whole VND, as a number cell or text with ``.``, ``,`` or spaces as thousands separators
  and an optional ``đ``/``VNĐ``/``VND``; a decimal part is an error (Art. 5.1: whole numbers).
* CSV: UTF-8 (with or without BOM); comma, semicolon (Excel in the Vietnamese locale) or tab
  separated, chosen from the header line. A cell starting with an apostrophe before ``=``, ``+``,
  ``-``, ``@`` loses that apostrophe: it is the text marker our export (and Excel) puts there so
  that a spreadsheet never runs the cell as a formula.
* Text: control characters are dropped and line ends become ``\n`` (an XLSX file cannot hold
  the former and turns ``\r`` into ``\n``), so a register reads the same from CSV and XLSX.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from xml.etree import ElementTree

from openpyxl import load_workbook
from pydantic import ValidationError

from inventory.errors import RegisterFileError, RegisterRejected
from inventory.lives import LifeTables
from inventory.models import (
    KIND_LABELS,
    STATUS_LABELS,
    Asset,
    AssetKind,
    AssetStatus,
)
from inventory.tables import Cell, Column, ColumnType, Lang, Sheet, to_csv, to_xlsx

__all__ = [
    "REGISTER_FIELDS",
    "ImportIssue",
    "read_register",
    "read_register_csv",
    "read_register_xlsx",
    "register_sheet",
    "register_to_csv",
    "register_to_xlsx",
    "to_csv",
    "to_xlsx",
]

_HEADER_SEARCH_ROWS = 10
_MIN_YEAR, _MAX_YEAR = 1980, 2100


@dataclass(frozen=True)
class ImportIssue:
    """One problem of an import: where it is and why, in Vietnamese and English."""

    sheet: str
    row: int
    column: str
    code: str
    reason_vi: str
    reason_en: str
    value: str = ""

    def describe(self, lang: Lang = "en") -> str:
        """``sheet 'X' row 5, column 'Mã xã': reason (value '123')``."""
        reason = self.reason_vi if lang == "vi" else self.reason_en
        column = f", column {self.column!r}" if self.column else ""
        value = f" (value {self.value!r})" if self.value else ""
        return f"sheet {self.sheet!r} row {self.row}{column}: {reason}{value}"


class _CellError(Exception):
    """A cell cannot be parsed; becomes an ImportIssue."""

    def __init__(self, code: str, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.code = code
        self.reason_vi = reason_vi
        self.reason_en = reason_en


def normalize_header(text: str) -> str:
    """Case, diacritics, spaces and punctuation removed: ``'Mã xã'`` → ``'maxa'``."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", stripped.casefold())


# ---------------------------------------------------------------------------------------------
# Cell parsers


# Invisible control characters (pasted from other programs) cannot be written to XLSX: dropped.
# Line ends become "\n", as an XLSX file keeps them, so CSV and XLSX imports agree.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Excel's text marker before what would be a formula, as tables.to_csv writes it (one removed).
_QUOTED_FORMULA = re.compile(r"'+[=+\-@\t\r]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+)?$")
_MY = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_YM = re.compile(r"^(\d{4})-(\d{1,2})$")
_Y = re.compile(r"^(\d{4})$")


def parse_date(value: Any) -> date | None:
    """A date cell: spreadsheet date, dd/mm/yyyy, yyyy-mm-dd, mm/yyyy, yyyy-mm or yyyy."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    else:
        text = _text(value)
        parts: tuple[int, int, int] | None = None
        if match := _DMY.match(text):
            parts = (int(match[3]), int(match[2]), int(match[1]))
        elif match := _YMD.match(text):
            parts = (int(match[1]), int(match[2]), int(match[3]))
        elif match := _MY.match(text):
            parts = (int(match[2]), int(match[1]), 1)
        elif match := _YM.match(text):
            parts = (int(match[1]), int(match[2]), 1)
        elif match := _Y.match(text):
            parts = (int(match[1]), 1, 1)
        if parts is None:
            raise _CellError(
                "bad_date",
                "ngày không hợp lệ; dùng dd/mm/yyyy (ví dụ 15/08/2023) hoặc yyyy-mm-dd",
                "not a date; use dd/mm/yyyy (e.g. 15/08/2023) or yyyy-mm-dd",
            )
        try:
            result = date(*parts)
        except ValueError as exc:
            raise _CellError(
                "bad_date",
                "ngày không tồn tại (kiểm tra ngày và tháng; định dạng là dd/mm/yyyy)",
                f"no such date ({exc}); the format is dd/mm/yyyy",
            ) from exc
    if not _MIN_YEAR <= result.year <= _MAX_YEAR:
        raise _CellError(
            "bad_date",
            f"năm {result.year} nằm ngoài khoảng {_MIN_YEAR}–{_MAX_YEAR}",
            f"year {result.year} is outside {_MIN_YEAR}–{_MAX_YEAR}",
        )
    return result


_MONEY_SUFFIX = re.compile(r"\s*(vnđ|vnd|đồng|dong|đ|d)\.?$", re.IGNORECASE)
_GROUPED = re.compile(r"^\d{1,3}([.,  ]\d{3})+$")


def parse_vnd(value: Any) -> int | None:
    """A whole-VND amount; negative or fractional amounts are errors."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    negative = _CellError("negative_cost", "số tiền không được âm", "an amount cannot be negative")
    fractional = _CellError(
        "bad_cost",
        "số tiền phải là số nguyên đồng (không có phần thập phân)",
        "an amount must be whole VND (no decimals)",
    )
    if isinstance(value, bool):
        raise _CellError("bad_cost", "không phải số tiền", "not an amount")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise fractional
        amount = int(value)
    else:
        text = _MONEY_SUFFIX.sub("", str(value).strip()).strip()
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-").strip()
        if _GROUPED.match(digits):
            digits = re.sub(r"[.,  ]", "", digits)
        if not digits.isdigit():
            if re.fullmatch(r"\d+[.,]\d+", digits):
                raise fractional
            raise _CellError(
                "bad_cost",
                "không phải số tiền (ví dụ hợp lệ: 15000000 hoặc 15.000.000)",
                "not an amount (valid examples: 15000000 or 15,000,000)",
            )
        amount = sign * int(digits)
    if amount < 0:
        raise negative
    return amount


def parse_int(value: Any) -> int | None:
    """A whole number of years, ≥ 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = _text(value)
    if not text.isdigit():
        raise _CellError(
            "bad_number", "phải là số nguyên không âm", "must be a whole number, 0 or more"
        )
    return int(text)


def parse_commune(value: Any, valid: Collection[str]) -> str:
    """A five-digit commune code that exists in ``valid``."""
    text = _text(value)
    if not text:
        raise _CellError("missing", "thiếu mã xã", "commune code is missing")
    if not text.isdigit() or len(text) > 5:
        raise _CellError(
            "bad_commune_code",
            "mã xã phải gồm 5 chữ số (ví dụ 00070)",
            "a commune code is 5 digits (e.g. 00070)",
        )
    code = text.zfill(5)
    if code not in valid:
        raise _CellError(
            "unknown_commune",
            f"mã xã {code} không có trong danh mục đơn vị hành chính",
            f"commune code {code} is not in the list of administrative units",
        )
    return code


_Member = TypeVar("_Member", AssetKind, AssetStatus)


def _alias_map(
    labels: dict[_Member, tuple[str, str]], extra: dict[str, _Member]
) -> dict[str, _Member]:
    out: dict[str, _Member] = {}
    for member, (vi, en) in labels.items():
        for text in (member.value, vi, en):
            out[normalize_header(text)] = member
    for text, member in extra.items():
        out[normalize_header(text)] = member
    return out


_KIND_ALIASES = _alias_map(
    KIND_LABELS,
    {
        "máy tính": AssetKind.PC,
        "máy tính để bàn": AssetKind.PC,
        "máy vi tính để bàn": AssetKind.PC,
        "máy tính xách tay": AssetKind.PC,
        "máy tính bảng": AssetKind.OTHER,
        "desktop": AssetKind.PC,
        "laptop": AssetKind.PC,
        "mini pc": AssetKind.PC,
        "máy in laser": AssetKind.PRINTER,
        "máy photocopy": AssetKind.MFP,
        "máy photo": AssetKind.MFP,
        "máy in đa năng": AssetKind.MFP,
        "copier": AssetKind.MFP,
        "máy quét": AssetKind.SCANNER,
        "máy scan": AssetKind.SCANNER,
        "router": AssetKind.ROUTER,
        "switch": AssetKind.SWITCH,
        "bộ chuyển mạch": AssetKind.SWITCH,
        "access point": AssetKind.ACCESS_POINT,
        "bộ phát wifi": AssetKind.ACCESS_POINT,
        "wifi": AssetKind.ACCESS_POINT,
        "ups": AssetKind.UPS,
        "kiosk": AssetKind.KIOSK,
        "kiosk tra cứu": AssetKind.KIOSK,
        "máy xếp hàng": AssetKind.QUEUE_MACHINE,
        "hệ thống xếp hàng": AssetKind.QUEUE_MACHINE,
        "camera ip": AssetKind.CAMERA,
        "nvr": AssetKind.NVR,
        "đầu ghi": AssetKind.NVR,
        "hội nghị truyền hình": AssetKind.VIDEO_CONFERENCE,
        "khác": AssetKind.OTHER,
    },
)
_STATUS_ALIASES = _alias_map(
    STATUS_LABELS,
    {
        "sử dụng": AssetStatus.IN_USE,
        "đang dùng": AssetStatus.IN_USE,
        "hư hỏng": AssetStatus.BROKEN,
        "hư": AssetStatus.BROKEN,
        "đã hỏng": AssetStatus.BROKEN,
        "thanh lý": AssetStatus.RETIRED,
        "điều chuyển": AssetStatus.TRANSFERRED,
    },
)


def parse_kind(value: Any) -> AssetKind:
    """An asset kind from its code, Vietnamese or English name."""
    text = _text(value)
    kind = _KIND_ALIASES.get(normalize_header(text))
    if kind is None:
        raise _CellError(
            "unknown_kind",
            "loại thiết bị không hợp lệ; dùng một trong: "
            + ", ".join(label for label, _ in KIND_LABELS.values()),
            "unknown kind; use one of: " + ", ".join(kind.value for kind in AssetKind),
        )
    return kind


def parse_status(value: Any) -> AssetStatus:
    """A status from its code, Vietnamese or English name; empty means in use."""
    text = _text(value)
    if not text:
        return AssetStatus.IN_USE
    status = _STATUS_ALIASES.get(normalize_header(text))
    if status is None:
        raise _CellError(
            "unknown_status",
            "trạng thái không hợp lệ; dùng một trong: "
            + ", ".join(label for label, _ in STATUS_LABELS.values()),
            "unknown status; use one of: " + ", ".join(status.value for status in AssetStatus),
        )
    return status


# ---------------------------------------------------------------------------------------------
# Fields


@dataclass(frozen=True)
class RegisterField:
    """A register column: the header written on export and every header accepted on import."""

    key: str
    header_vi: str
    header_en: str
    type: ColumnType
    required: bool = False
    aliases: tuple[str, ...] = ()

    def accepted(self) -> set[str]:
        """Normalised headers that name this field."""
        return {normalize_header(text) for text in (self.header_vi, self.header_en, *self.aliases)}


REGISTER_FIELDS: tuple[RegisterField, ...] = (
    RegisterField(
        "asset_tag", "Mã tài sản", "Asset tag", ColumnType.TEXT, True, ("Tag", "Số hiệu tài sản")
    ),
    RegisterField("kind", "Loại", "Kind", ColumnType.TEXT, True, ("Loại thiết bị", "Type")),
    RegisterField("brand", "Hãng", "Brand", ColumnType.TEXT, False, ("Hãng sản xuất",)),
    RegisterField("model", "Model", "Model", ColumnType.TEXT, False, ("Kiểu máy",)),
    RegisterField(
        "serial", "Số serial", "Serial", ColumnType.TEXT, False, ("Serial number", "Số sê-ri")
    ),
    RegisterField(
        "commune_code", "Mã xã", "Commune code", ColumnType.TEXT, True, ("Mã đơn vị hành chính",)
    ),
    RegisterField("room", "Phòng/Quầy", "Room/Counter", ColumnType.TEXT, False, ("Vị trí",)),
    RegisterField(
        "put_into_use",
        "Ngày đưa vào sử dụng",
        "In use since",
        ColumnType.DATE,
        True,
        ("Put into use", "Put-into-use date", "Ngày sử dụng"),
    ),
    RegisterField(
        "original_cost",
        "Nguyên giá (VNĐ)",
        "Original cost (VND)",
        ColumnType.VND,
        False,
        ("Nguyên giá", "Original cost", "Cost"),
    ),
    RegisterField("funding_source", "Nguồn vốn", "Funding source", ColumnType.TEXT),
    RegisterField("warranty_end", "Hết bảo hành", "Warranty end", ColumnType.DATE),
    RegisterField("status", "Trạng thái", "Status", ColumnType.TEXT),
    RegisterField(
        "previous_owner",
        "Đơn vị cũ",
        "Previous owner unit",
        ColumnType.TEXT,
        False,
        ("Previous owner",),
    ),
    RegisterField("status_since", "Ngày đổi trạng thái", "Status since", ColumnType.DATE),
    RegisterField("asset_class", "Nhóm tài sản", "Asset class", ColumnType.TEXT),
    RegisterField(
        "years_used_before_purchase",
        "Số năm đã sử dụng trước khi mua",
        "Years used before purchase",
        ColumnType.INT,
    ),
    RegisterField("revaluation_year", "Năm đánh giá lại", "Revaluation year", ColumnType.INT),
    RegisterField(
        "revalued_cost", "Nguyên giá đánh giá lại (VNĐ)", "Revalued cost (VND)", ColumnType.VND
    ),
    RegisterField(
        "revalued_remaining_value",
        "Giá trị còn lại đánh giá lại (VNĐ)",
        "Revalued remaining value (VND)",
        ColumnType.VND,
    ),
    RegisterField(
        "revalued_remaining_life",
        "Thời gian sử dụng còn lại (năm)",
        "Remaining life (years)",
        ColumnType.INT,
    ),
)
# Written on export for the reader, ignored on import (it is derived from the cost).
_FIXED_ASSET_COLUMN = Column("is_fixed_asset", "Tài sản cố định", "Fixed asset", ColumnType.BOOL)
_IGNORED_HEADERS = {
    normalize_header(_FIXED_ASSET_COLUMN.header_vi),
    normalize_header(_FIXED_ASSET_COLUMN.header_en),
}
_BY_HEADER: dict[str, RegisterField] = {
    header: spec for spec in REGISTER_FIELDS for header in spec.accepted()
}
_TAG_HEADERS = REGISTER_FIELDS[0].accepted()


# ---------------------------------------------------------------------------------------------
# Import


@dataclass(frozen=True)
class _Context:
    sheet: str
    valid_communes: Collection[str]
    as_of: date | None
    tables: LifeTables | None


@dataclass(frozen=True)
class _RawSheet:
    name: str
    header_row: int
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[Any, ...]], ...]


def _issue(ctx: _Context, row: int, column: str, error: _CellError, value: Any) -> ImportIssue:
    return ImportIssue(
        sheet=ctx.sheet,
        row=row,
        column=column,
        code=error.code,
        reason_vi=error.reason_vi,
        reason_en=error.reason_en,
        value=_text(value)[:100],
    )


def _parse_class(value: Any, tables: LifeTables | None) -> str | None:
    text = _text(value)
    if not text:
        return None
    if tables is None:
        if re.fullmatch(r"[a-z][a-z0-9_]{0,63}", text):
            return text
        raise _CellError("unknown_class", "mã nhóm tài sản không hợp lệ", "not an asset class key")
    for class_id, info in tables.classes.items():
        if normalize_header(text) in {
            normalize_header(class_id),
            normalize_header(info.name_vi),
            normalize_header(info.name_en),
        }:
            return class_id
    raise _CellError(
        "unknown_class",
        "nhóm tài sản không có trong bảng thời gian sử dụng; dùng một trong: "
        + ", ".join(info.name_vi for info in tables.classes.values()),
        "asset class not in the lives table; use one of: " + ", ".join(tables.classes),
    )


def _row_fields(
    ctx: _Context, row_number: int, cells: dict[str, tuple[str, Any]]
) -> tuple[dict[str, Any], list[ImportIssue]]:
    """Parse one row's cells (key → (header, value)) into Asset fields."""
    issues: list[ImportIssue] = []
    fields: dict[str, Any] = {}

    def take(key: str, parser: Callable[[Any], Any]) -> Any:
        header, value = cells.get(key, ("", None))
        try:
            return parser(value)
        except _CellError as error:
            issues.append(_issue(ctx, row_number, header, error, value))
            return None

    def required(value: Any) -> Any:
        if _text(value) == "":
            raise _CellError("missing", "ô bắt buộc bị trống", "required cell is empty")
        return value

    fields["asset_tag"] = _text(take("asset_tag", required))
    fields["kind"] = take("kind", lambda v: parse_kind(required(v)))
    for key in ("brand", "model", "room", "funding_source", "previous_owner"):
        fields[key] = _text(cells.get(key, ("", None))[1])
    fields["serial"] = _text(cells.get("serial", ("", None))[1]) or None
    fields["commune_code"] = take("commune_code", lambda v: parse_commune(v, ctx.valid_communes))
    put_into_use = take("put_into_use", lambda v: parse_date(required(v)))
    if put_into_use is not None and ctx.as_of is not None and put_into_use > ctx.as_of:
        header, value = cells["put_into_use"]
        issues.append(
            _issue(
                ctx,
                row_number,
                header,
                _CellError(
                    "future_date",
                    f"ngày đưa vào sử dụng sau ngày nhập ({ctx.as_of.strftime('%d/%m/%Y')})",
                    f"put into use after the import date ({ctx.as_of.isoformat()})",
                ),
                value,
            )
        )
    fields["put_into_use"] = put_into_use
    fields["original_cost"] = take("original_cost", parse_vnd)
    fields["warranty_end"] = take("warranty_end", parse_date)
    fields["status"] = take("status", parse_status)
    fields["status_since"] = take("status_since", parse_date)
    fields["asset_class"] = take("asset_class", lambda v: _parse_class(v, ctx.tables))
    fields["years_used_before_purchase"] = take("years_used_before_purchase", parse_int) or 0

    year = take("revaluation_year", parse_int)
    cost = take("revalued_cost", parse_vnd)
    remaining = take("revalued_remaining_value", parse_vnd)
    life = take("revalued_remaining_life", parse_int)
    if any(value is not None for value in (year, cost, remaining, life)):
        if year is None or cost is None:
            missing = "revaluation_year" if year is None else "revalued_cost"
            header = cells.get(missing, ("", None))[0] or _field(missing).header_vi
            issues.append(
                _issue(
                    ctx,
                    row_number,
                    header,
                    _CellError(
                        "incomplete_revaluation",
                        "đánh giá lại cần cả năm đánh giá lại và nguyên giá đánh giá lại",
                        "a revaluation needs both the revaluation year and the revalued cost",
                    ),
                    None,
                )
            )
        else:
            fields["revaluation"] = {
                "year": year,
                "cost": cost,
                "remaining_value": remaining,
                "remaining_life_years": life,
            }
    issues.extend(_order_issues(ctx, row_number, cells, fields))
    return fields, issues


def _order_issues(
    ctx: _Context, row_number: int, cells: dict[str, tuple[str, Any]], fields: dict[str, Any]
) -> list[ImportIssue]:
    """Checks across cells of one row, each located at the cell that contradicts the others.

    The model checks the same rules, but its errors carry no column; a finance officer needs
    to know which cell to correct.
    """
    out: list[ImportIssue] = []

    def issue(key: str, code: str, reason_vi: str, reason_en: str) -> None:
        header, value = cells.get(key, ("", None))
        out.append(
            _issue(
                ctx,
                row_number,
                header or _field(key).header_vi,
                _CellError(code, reason_vi, reason_en),
                value,
            )
        )

    start: date | None = fields.get("put_into_use")
    since: date | None = fields.get("status_since")
    if start is not None and since is not None and since < start:
        issue(
            "status_since",
            "date_order",
            f"ngày đổi trạng thái trước ngày đưa vào sử dụng ({start.strftime('%d/%m/%Y')})",
            f"status since is before the put-into-use date ({start.isoformat()})",
        )
    revaluation: dict[str, Any] | None = fields.get("revaluation")
    if revaluation is None:
        return out
    if start is not None and revaluation["year"] < start.year:
        issue(
            "revaluation_year",
            "date_order",
            f"năm đánh giá lại trước năm đưa vào sử dụng ({start.year})",
            f"revaluation year is before the year put into use ({start.year})",
        )
    remaining = revaluation["remaining_value"]
    if remaining is not None and remaining > revaluation["cost"]:
        issue(
            "revalued_remaining_value",
            "bad_cost",
            "giá trị còn lại lớn hơn nguyên giá đánh giá lại",
            "the remaining value is more than the revalued cost",
        )
    return out


def _field(key: str) -> RegisterField:
    return next(spec for spec in REGISTER_FIELDS if spec.key == key)


def _validation_issues(
    ctx: _Context, row_number: int, cells: dict[str, tuple[str, Any]], exc: ValidationError
) -> list[ImportIssue]:
    out: list[ImportIssue] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        key = loc[0] if loc else ""
        if key == "revaluation" and len(loc) > 1:
            key = {"year": "revaluation_year", "cost": "revalued_cost"}.get(
                loc[1], "revalued_remaining_value"
            )
        # An error the row checks did not foresee still names a cell: the row's asset tag.
        header = cells.get(key, ("", None))[0] if key else ""
        if not header:
            key = "asset_tag"
            header = cells[key][0]
        message = str(error["msg"]).removeprefix("Value error, ")
        out.append(
            ImportIssue(
                sheet=ctx.sheet,
                row=row_number,
                column=header,
                code="invalid",
                reason_vi=f"giá trị không hợp lệ: {message}",
                reason_en=f"invalid value: {message}",
                value=_text(cells.get(key, ("", None))[1])[:100],
            )
        )
    return out


def _read_sheet(
    raw: _RawSheet, ctx: _Context
) -> tuple[list[Asset], list[_Identity], list[ImportIssue]]:
    issues: list[ImportIssue] = []
    columns: dict[int, RegisterField] = {}
    seen: dict[str, str] = {}
    for index, header in enumerate(raw.headers):
        normal = normalize_header(header)
        if not normal or normal in _IGNORED_HEADERS:
            continue
        spec = _BY_HEADER.get(normal)
        if spec is None:
            continue  # Offices add their own columns (ghi chú...): ignored, not an error.
        if spec.key in seen:
            issues.append(
                ImportIssue(
                    ctx.sheet,
                    raw.header_row,
                    header,
                    "duplicate_column",
                    f"cột trùng với cột {seen[spec.key]!r}",
                    f"same column as {seen[spec.key]!r}",
                )
            )
            continue
        seen[spec.key] = header
        columns[index] = spec
    for spec in REGISTER_FIELDS:
        if spec.required and spec.key not in seen:
            issues.append(
                ImportIssue(
                    ctx.sheet,
                    raw.header_row,
                    spec.header_vi,
                    "missing_column",
                    f"thiếu cột bắt buộc {spec.header_vi!r}",
                    f"required column {spec.header_en!r} ({spec.header_vi!r}) is missing",
                )
            )
    if issues:
        return [], [], issues

    assets: list[Asset] = []
    identities: list[_Identity] = []
    for row_number, values in raw.rows:
        cells = {
            spec.key: (raw.headers[index], values[index] if index < len(values) else None)
            for index, spec in columns.items()
        }
        tag_header, tag = cells["asset_tag"]
        serial_header, serial = cells.get("serial", (_field("serial").header_vi, None))
        identities.append(
            _Identity(ctx.sheet, row_number, tag_header, _text(tag), serial_header, _text(serial))
        )
        fields, row_issues = _row_fields(ctx, row_number, cells)
        if row_issues:
            issues.extend(row_issues)
            continue
        try:
            assets.append(Asset.model_validate(fields))
        except ValidationError as exc:
            issues.extend(_validation_issues(ctx, row_number, cells, exc))
    return assets, identities, issues


@dataclass(frozen=True)
class _Identity:
    """The tag and serial cells of one data row, as written (checked for duplicates)."""

    sheet: str
    row: int
    tag_header: str
    tag: str
    serial_header: str
    serial: str


def _duplicate_issues(
    identities: Sequence[_Identity],
    existing_tags: Collection[str],
    existing_serials: Collection[str],
) -> list[ImportIssue]:
    issues: list[ImportIssue] = []
    known = {
        "tag": {tag.strip().casefold() for tag in existing_tags},
        "serial": {serial.strip().casefold() for serial in existing_serials},
    }
    first_seen: dict[str, dict[str, tuple[str, int]]] = {"tag": {}, "serial": {}}
    words = {
        "tag": ("duplicate_tag", "mã tài sản", "asset tag"),
        "serial": ("duplicate_serial", "số serial", "serial"),
    }
    for ident in identities:
        for what, header, value in (
            ("tag", ident.tag_header, ident.tag),
            ("serial", ident.serial_header, ident.serial),
        ):
            if not value:
                continue
            code, name_vi, name_en = words[what]
            key = value.casefold()
            if key in known[what]:
                reason_vi = f"{name_vi} đã có trong sổ tài sản"
                reason_en = f"{name_en} is already in the register"
            elif key in first_seen[what]:
                first_sheet, first_row = first_seen[what][key]
                reason_vi = f"{name_vi} trùng với dòng {first_row} (trang {first_sheet!r})"
                reason_en = f"{name_en} repeats row {first_row} of sheet {first_sheet!r}"
            else:
                first_seen[what][key] = (ident.sheet, ident.row)
                continue
            issues.append(
                ImportIssue(ident.sheet, ident.row, header, code, reason_vi, reason_en, value)
            )
    return issues


def _import(
    sheets: Iterable[_RawSheet],
    *,
    valid_communes: Collection[str],
    as_of: date | None,
    existing_tags: Collection[str],
    existing_serials: Collection[str],
    tables: LifeTables | None,
) -> list[Asset]:
    valid = valid_communes if isinstance(valid_communes, set | frozenset) else set(valid_communes)
    assets: list[Asset] = []
    identities: list[_Identity] = []
    issues: list[ImportIssue] = []
    for raw in sheets:
        ctx = _Context(raw.name, valid, as_of, tables)
        sheet_assets, sheet_identities, sheet_issues = _read_sheet(raw, ctx)
        assets.extend(sheet_assets)
        identities.extend(sheet_identities)
        issues.extend(sheet_issues)
    issues.extend(_duplicate_issues(identities, existing_tags, existing_serials))
    if issues:
        order = {
            raw_name: k for k, raw_name in enumerate(dict.fromkeys(i.sheet for i in identities))
        }
        issues.sort(key=lambda issue: (order.get(issue.sheet, -1), issue.row))
        raise RegisterRejected(issues)
    return assets


def _blank(values: Sequence[Any]) -> bool:
    return all(_text(value) == "" for value in values)


def _find_header(rows: Sequence[tuple[Any, ...]]) -> int | None:
    for index, values in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if any(normalize_header(_text(value)) in _TAG_HEADERS for value in values):
            return index
    return None


def _raw_sheet(name: str, rows: Sequence[tuple[Any, ...]]) -> _RawSheet | None:
    header_index = _find_header(rows)
    if header_index is None:
        return None
    data = tuple(
        (index + 1, tuple(values))
        for index, values in enumerate(rows)
        if index > header_index and not _blank(values)
    )
    headers = tuple(_text(value) for value in rows[header_index])
    return _RawSheet(name, header_index + 1, headers, data)


def _source_bytes(source: bytes | Path) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return source.read_bytes()
    except OSError as exc:
        raise RegisterFileError(f"cannot read {source}: {exc.strerror or exc}") from exc


def _csv_rows(data: bytes) -> list[tuple[str, ...]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterFileError(
            "tệp CSV không phải UTF-8; trong Excel chọn 'CSV UTF-8' khi lưu "
            f"(the CSV file is not UTF-8: save as 'CSV UTF-8'; byte {exc.start})"
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return [
            tuple(cell[1:] if _QUOTED_FORMULA.match(cell) else cell for cell in row)
            for row in reader
        ]
    except csv.Error as exc:
        raise RegisterFileError(f"tệp CSV hỏng (the CSV file is malformed: {exc})") from exc


def read_register_csv(
    source: bytes | Path,
    *,
    valid_communes: Collection[str],
    as_of: date | None = None,
    existing_tags: Collection[str] = (),
    existing_serials: Collection[str] = (),
    tables: LifeTables | None = None,
    sheet_name: str = "CSV",
) -> list[Asset]:
    """Every asset of a CSV register, or RegisterRejected with every problem (nothing imported).

    ``valid_communes`` is the set of known 5-digit commune codes; ``existing_tags`` and
    ``existing_serials`` are those already stored (a repeat is a duplicate); ``as_of`` rejects
    put-into-use dates after it; ``tables`` checks asset classes against the lives table.
    """
    rows = _csv_rows(_source_bytes(source))
    raw = _raw_sheet(sheet_name, rows)
    if raw is None:
        raise RegisterFileError(
            "không tìm thấy dòng tiêu đề có cột 'Mã tài sản' trong 10 dòng đầu "
            "(no header row with an 'Asset tag' / 'Mã tài sản' column in the first 10 rows)"
        )
    return _import(
        [raw],
        valid_communes=valid_communes,
        as_of=as_of,
        existing_tags=existing_tags,
        existing_serials=existing_serials,
        tables=tables,
    )


# What openpyxl raises on a damaged workbook, at load or (read-only mode is lazy) while reading
# rows: a broken ZIP or deflate stream, XML that is not well formed (defusedxml's refusals are
# ValueErrors), a missing part, a ZIP feature it does not know. Found by the hypothesis tests in
# tests/hardening/test_register_properties.py.
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    ElementTree.ParseError,
    KeyError,
    IndexError,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    NotImplementedError,
)


def _xlsx_sheets(data: bytes) -> list[_RawSheet]:
    workbook = None
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it drops (data validation, conditional
            # formats); they do not change cell values, so they are not the user's problem.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheets = []
            for worksheet in workbook.worksheets:
                rows = [tuple(row) for row in worksheet.iter_rows(values_only=True)]
                raw = _raw_sheet(worksheet.title, rows)
                if raw is not None:
                    sheets.append(raw)
            return sheets
    except _XLSX_ERRORS as exc:
        raise RegisterFileError(
            f"tệp không phải XLSX hợp lệ hoặc bị hỏng (not a valid XLSX workbook, or damaged: "
            f"{exc.__class__.__name__}: {str(exc)[:200]})"
        ) from exc
    finally:
        if workbook is not None:
            workbook.close()


def read_register_xlsx(
    source: bytes | Path,
    *,
    valid_communes: Collection[str],
    as_of: date | None = None,
    existing_tags: Collection[str] = (),
    existing_serials: Collection[str] = (),
    tables: LifeTables | None = None,
) -> list[Asset]:
    """Every asset of an XLSX register (every sheet with a 'Mã tài sản' header), all or nothing.

    Sheets without such a header (instructions, summaries) are skipped. Parameters as for
    ``read_register_csv``.
    """
    sheets = _xlsx_sheets(_source_bytes(source))
    if not sheets:
        raise RegisterFileError(
            "không trang nào có dòng tiêu đề với cột 'Mã tài sản' "
            "(no sheet has a header row with an 'Asset tag' / 'Mã tài sản' column)"
        )
    return _import(
        sheets,
        valid_communes=valid_communes,
        as_of=as_of,
        existing_tags=existing_tags,
        existing_serials=existing_serials,
        tables=tables,
    )


def read_register(
    source: bytes | Path,
    *,
    filename: str | None = None,
    valid_communes: Collection[str],
    as_of: date | None = None,
    existing_tags: Collection[str] = (),
    existing_serials: Collection[str] = (),
    tables: LifeTables | None = None,
) -> list[Asset]:
    """Import a register, choosing CSV or XLSX from the file name (or the content)."""
    name = filename or (source.name if isinstance(source, Path) else "")
    data = _source_bytes(source)
    is_xlsx = name.lower().endswith((".xlsx", ".xlsm")) or (not name and data[:2] == b"PK")
    reader = read_register_xlsx if is_xlsx else read_register_csv
    if not is_xlsx and not name.lower().endswith((".csv", ".txt")) and name:
        raise RegisterFileError(f"unsupported file type {name!r}: use .xlsx or .csv")
    return reader(
        data,
        valid_communes=valid_communes,
        as_of=as_of,
        existing_tags=existing_tags,
        existing_serials=existing_serials,
        tables=tables,
    )


# ---------------------------------------------------------------------------------------------
# Export


def _asset_cells(asset: Asset, lang: Lang) -> tuple[Cell, ...]:
    kind_vi, kind_en = KIND_LABELS[asset.kind]
    status_vi, status_en = STATUS_LABELS[asset.status]
    revaluation = asset.revaluation
    values: dict[str, Cell] = {
        "asset_tag": asset.asset_tag,
        "kind": kind_vi if lang == "vi" else kind_en,
        "brand": asset.brand,
        "model": asset.model,
        "serial": asset.serial,
        "commune_code": asset.commune_code,
        "room": asset.room,
        "put_into_use": asset.put_into_use,
        "original_cost": asset.original_cost,
        "funding_source": asset.funding_source,
        "warranty_end": asset.warranty_end,
        "status": status_vi if lang == "vi" else status_en,
        "status_since": asset.status_since,
        "previous_owner": asset.previous_owner,
        "asset_class": asset.asset_class,
        "years_used_before_purchase": asset.years_used_before_purchase or None,
        "revaluation_year": revaluation.year if revaluation else None,
        "revalued_cost": revaluation.cost if revaluation else None,
        "revalued_remaining_value": revaluation.remaining_value if revaluation else None,
        "revalued_remaining_life": revaluation.remaining_life_years if revaluation else None,
    }
    return (*(values[spec.key] for spec in REGISTER_FIELDS), asset.is_fixed_asset)


def register_sheet(assets: Iterable[Asset], *, lang: Lang = "vi") -> Sheet:
    """The register as a sheet whose headers the importer reads back."""
    columns = (
        *(
            Column(
                spec.key,
                spec.header_vi,
                spec.header_en,
                spec.type,
                width=18 if spec.type is not ColumnType.TEXT else None,
            )
            for spec in REGISTER_FIELDS
        ),
        _FIXED_ASSET_COLUMN,
    )
    return Sheet(
        "Sổ tài sản", "Register", columns, tuple(_asset_cells(asset, lang) for asset in assets)
    )


def register_to_xlsx(assets: Iterable[Asset], *, lang: Lang = "vi") -> bytes:
    """The register as an XLSX workbook (VND as ``#,##0``, dates ``dd/mm/yyyy``)."""
    return to_xlsx([register_sheet(assets, lang=lang)], lang=lang)


def register_to_csv(assets: Iterable[Asset], *, lang: Lang = "vi") -> bytes:
    """The register as CSV, UTF-8 with BOM."""
    return to_csv(register_sheet(assets, lang=lang), lang=lang)
