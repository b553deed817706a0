"""Parsers of one register cell: text, dates, whole VND, counts, commune codes, kinds, statuses.

Each parser takes what the spreadsheet or CSV cell holds (a string, a number, a real date) and
returns the field's value, or raises ``CellError`` with a code and a reason in Vietnamese and
English, which the reader turns into an ``ImportIssue`` located at the cell. Choices, because
registers come from many offices:

* Dates: ``dd/mm/yyyy`` (also ``-`` or ``.``), ISO ``yyyy-mm-dd``, real spreadsheet dates, and
  month or year only (``08/2023``, ``2023-08``, ``2023``) taken as the first day: wear counts
  fiscal years, so the day does not change any figure.
* Commune codes with fewer than five digits are zero-padded (``70`` → ``00070``) because Excel
  strips leading zeros from number-looking cells; the padded code must still be a known code.
* Costs: whole VND through ``inventory.money`` (the one parser of amounts).
* Text: control characters are dropped and line ends become ``\n`` (an XLSX file cannot hold
  the former and turns ``\r`` into ``\n``), so a register reads the same from CSV and XLSX.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime
from typing import Any, TypeVar

from inventory import money
from inventory.lives import LifeTables
from inventory.models import KIND_LABELS, STATUS_LABELS, AssetKind, AssetStatus
from inventory.register_columns import normalize_header

_MIN_YEAR, _MAX_YEAR = 1980, 2100


class CellError(Exception):
    """A cell cannot be parsed; becomes an ImportIssue."""

    def __init__(self, code: str, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.code = code
        self.reason_vi = reason_vi
        self.reason_en = reason_en


# Invisible control characters (pasted from other programs) cannot be written to XLSX: dropped.
# Line ends become "\n", as an XLSX file keeps them, so CSV and XLSX imports agree.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_text(value: Any) -> str:
    """The text of a cell as the register keeps it: trimmed, control characters dropped."""
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
        text = cell_text(value)
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
            raise CellError(
                "bad_date",
                "ngày không hợp lệ; dùng dd/mm/yyyy (ví dụ 15/08/2023) hoặc yyyy-mm-dd",
                "not a date; use dd/mm/yyyy (e.g. 15/08/2023) or yyyy-mm-dd",
            )
        try:
            result = date(*parts)
        except ValueError as exc:
            raise CellError(
                "bad_date",
                "ngày không tồn tại (kiểm tra ngày và tháng; định dạng là dd/mm/yyyy)",
                f"no such date ({exc}); the format is dd/mm/yyyy",
            ) from exc
    if not _MIN_YEAR <= result.year <= _MAX_YEAR:
        raise CellError(
            "bad_date",
            f"năm {result.year} nằm ngoài khoảng {_MIN_YEAR}–{_MAX_YEAR}",
            f"year {result.year} is outside {_MIN_YEAR}–{_MAX_YEAR}",
        )
    return result


def parse_vnd(value: Any) -> int | None:
    """A whole-VND amount (``inventory.money``); an empty cell is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return money.parse_vnd(value)
    except money.MoneyError as exc:
        raise CellError(exc.code, exc.reason_vi, exc.reason_en) from None


def parse_int(value: Any) -> int | None:
    """A whole number of years, ≥ 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = cell_text(value)
    if not text.isdigit():
        raise CellError(
            "bad_number", "phải là số nguyên không âm", "must be a whole number, 0 or more"
        )
    return int(text)


def parse_commune(value: Any, valid: Collection[str]) -> str:
    """A five-digit commune code that exists in ``valid``."""
    text = cell_text(value)
    if not text:
        raise CellError("missing", "thiếu mã xã", "commune code is missing")
    if not text.isdigit() or len(text) > 5:
        raise CellError(
            "bad_commune_code",
            "mã xã phải gồm 5 chữ số (ví dụ 00070)",
            "a commune code is 5 digits (e.g. 00070)",
        )
    code = text.zfill(5)
    if code not in valid:
        raise CellError(
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
    text = cell_text(value)
    kind = _KIND_ALIASES.get(normalize_header(text))
    if kind is None:
        raise CellError(
            "unknown_kind",
            "loại thiết bị không hợp lệ; dùng một trong: "
            + ", ".join(label for label, _ in KIND_LABELS.values()),
            "unknown kind; use one of: " + ", ".join(kind.value for kind in AssetKind),
        )
    return kind


def parse_status(value: Any) -> AssetStatus:
    """A status from its code, Vietnamese or English name; empty means in use."""
    text = cell_text(value)
    if not text:
        return AssetStatus.IN_USE
    status = _STATUS_ALIASES.get(normalize_header(text))
    if status is None:
        raise CellError(
            "unknown_status",
            "trạng thái không hợp lệ; dùng một trong: "
            + ", ".join(label for label, _ in STATUS_LABELS.values()),
            "unknown status; use one of: " + ", ".join(status.value for status in AssetStatus),
        )
    return status


def parse_class(value: Any, tables: LifeTables | None) -> str | None:
    """An asset class key, given as the key or the class's name in ``tables``; empty is None."""
    text = cell_text(value)
    if not text:
        return None
    if tables is None:
        if re.fullmatch(r"[a-z][a-z0-9_]{0,63}", text):
            return text
        raise CellError("unknown_class", "mã nhóm tài sản không hợp lệ", "not an asset class key")
    for class_id, info in tables.classes.items():
        if normalize_header(text) in {
            normalize_header(class_id),
            normalize_header(info.name_vi),
            normalize_header(info.name_en),
        }:
            return class_id
    raise CellError(
        "unknown_class",
        "nhóm tài sản không có trong bảng thời gian sử dụng; dùng một trong: "
        + ", ".join(info.name_vi for info in tables.classes.values()),
        "asset class not in the lives table; use one of: " + ", ".join(tables.classes),
    )
