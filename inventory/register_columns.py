"""The columns of the asset register: the header written on export and every header accepted.

Headers may be Vietnamese with diacritics ("Mã tài sản", "Nguyên giá (VNĐ)"), Vietnamese without
them, or English ("Asset tag"); matching ignores case, diacritics, spaces and punctuation. The
reader (``register_reader``) and the writer (``register_writer``) share these definitions, so a
register we export always imports back.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from inventory.tables import Column, ColumnType


def normalize_header(text: str) -> str:
    """Case, diacritics, spaces and punctuation removed: ``'Mã xã'`` → ``'maxa'``."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", stripped.casefold())


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
FIXED_ASSET_COLUMN = Column("is_fixed_asset", "Tài sản cố định", "Fixed asset", ColumnType.BOOL)
IGNORED_HEADERS = frozenset(
    {
        normalize_header(FIXED_ASSET_COLUMN.header_vi),
        normalize_header(FIXED_ASSET_COLUMN.header_en),
    }
)
FIELDS_BY_HEADER: dict[str, RegisterField] = {
    header: spec for spec in REGISTER_FIELDS for header in spec.accepted()
}
TAG_HEADERS: frozenset[str] = frozenset(REGISTER_FIELDS[0].accepted())
"""Normalised headers of the asset tag column: the row holding one is the header row."""


def field_of(key: str) -> RegisterField:
    """The register field with this key."""
    return next(spec for spec in REGISTER_FIELDS if spec.key == key)
