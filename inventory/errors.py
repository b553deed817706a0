"""Exceptions of the inventory core (register, wear, priority, plan).

InventoryError
├── ConfigError            a data or configuration file (lives, prices, weights) is invalid;
│   │                      carries the file, the key path and the field
│   └── OverrideOutOfRange a province override moves a wear rate by more than ±20 % (Art. 13.1a)
├── RegisterFileError      an import file cannot be read at all (not CSV/XLSX, no header row)
│   └── RegisterTooLarge   it exceeds an import bound (rows, columns, cell length, size); names it
├── RegisterRejected       an import has bad rows; carries every ImportIssue (nothing is imported)
├── RegisterConflict       a concurrent import stored the same tag or serial first
├── AssetNotFound          no asset with this tag in the stored register
├── WearError              a wear schedule cannot be computed (no rule set for a year, bad class)
├── PlanError              a budget plan cannot be built (negative budget, no price for a kind)
└── RollupError            a rebuild of the daily rollups was asked for an impossible span
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal


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

    def describe(self, lang: Literal["vi", "en"] = "en") -> str:
        """``sheet 'X' row 5, column 'Mã xã': reason (value '123')``."""
        reason = self.reason_vi if lang == "vi" else self.reason_en
        column = f", column {self.column!r}" if self.column else ""
        value = f" (value {self.value!r})" if self.value else ""
        return f"sheet {self.sheet!r} row {self.row}{column}: {reason}{value}"


class InventoryError(Exception):
    """Base of every error the inventory core raises on purpose."""


class ConfigError(InventoryError):
    """A data or configuration file is invalid; ``file``, ``key`` and ``field`` say where."""

    def __init__(self, message: str, *, file: str = "", key: str = "", field: str = "") -> None:
        where = file
        if key:
            where = f"{where} {key}" if where else key
        if field:
            where = f"{where}, field {field!r}" if where else f"field {field!r}"
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.key = key
        self.field = field


class OverrideOutOfRange(ConfigError):
    """A province override moves the rate of a class beyond ±20 % of the circular's rate."""

    def __init__(
        self,
        *,
        file: str,
        key: str,
        base_rate: Decimal,
        override_rate: Decimal,
        max_change_percent: Decimal,
    ) -> None:
        low = base_rate * (100 - max_change_percent) / 100
        high = base_rate * (100 + max_change_percent) / 100
        change = (override_rate - base_rate) / base_rate * 100
        super().__init__(
            f"rate {override_rate} % is {change:+.2f} % from the circular's {base_rate} %; "
            f"Art. 13.1a of 141/2025/TT-BTC allows at most ±{max_change_percent} %, "
            f"i.e. {low.normalize()} % to {high.normalize()} % "
            f"(tỷ lệ hao mòn điều chỉnh không được tăng, giảm quá {max_change_percent} %)",
            file=file,
            key=key,
            field="rate_percent",
        )
        self.base_rate = base_rate
        self.override_rate = override_rate
        self.max_change_percent = max_change_percent


class RegisterFileError(InventoryError):
    """An import file cannot be read at all (wrong format, not UTF-8, no header row)."""


class RegisterTooLarge(RegisterFileError):
    """An import file exceeds one of the reader's bounds; nothing of it was kept.

    ``bound`` is the name of the bound (``max_rows``, ``max_columns``, ``max_cell_chars``,
    ``max_bytes``, ...) and ``limit`` its value; ``sheet``, ``row`` and ``column`` say where, when
    the reader got that far (a size found in the ZIP directory has no row).
    """

    def __init__(
        self,
        bound: str,
        limit: int,
        *,
        reason_en: str,
        reason_vi: str,
        sheet: str = "",
        row: int | None = None,
        column: str = "",
    ) -> None:
        place = f"sheet {sheet!r}" if sheet else "file"
        if row is not None:
            place += f" row {row}"
        if column:
            place += f", column {column}"
        super().__init__(
            f"{place}: {reason_en}; bound {bound} = {limit:,} ({reason_vi}); nothing was imported"
        )
        self.bound = bound
        self.limit = limit
        self.reason_en = reason_en
        self.reason_vi = reason_vi
        self.sheet = sheet
        self.row = row
        self.column = column


class RegisterRejected(InventoryError):
    """An import has bad rows; ``issues`` lists every one and nothing was imported."""

    def __init__(self, issues: Sequence[ImportIssue]) -> None:
        self.issues: tuple[ImportIssue, ...] = tuple(issues)
        first = self.issues[0] if self.issues else None
        detail = f"; first: {first.describe()}" if first is not None else ""
        super().__init__(
            f"register rejected, nothing imported: {len(self.issues)} problem(s){detail}"
        )


class RegisterConflict(InventoryError):
    """A concurrent import stored one of the file's tags or serials first; nothing was imported."""


class AssetNotFound(InventoryError):
    """The stored register has no asset with this tag; ``asset_tag`` says which."""

    def __init__(self, asset_tag: str) -> None:
        super().__init__(
            f"asset_tag {asset_tag!r}: không có trong sổ tài sản (not in the register)"
        )
        self.asset_tag = asset_tag


class WearError(InventoryError):
    """A wear schedule cannot be computed for an asset."""


class PlanError(InventoryError):
    """A budget plan cannot be built from these inputs."""


class RollupError(InventoryError):
    """A rebuild of the daily rollups cannot run as asked; ``field`` and ``value`` say why."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"{field} {value!r}: {allowed}")
        self.field = field
        self.value = value
