"""Money and numbers, in one place: whole VND parsed one way everywhere (register cells, the
CLI's ``--budget``, the API's ``budget``, the console's form) with one set of bounds, and shown
Vietnamese style (15.000.000 đ, 8,5) or English style.

Circular 141/2025 Art. 5.1 keeps amounts in whole đồng, so a decimal part is an error rather
than something to round.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import Field

# A budget is at least one đồng; a million billion đồng is beyond any province's IT budget, so
# anything larger is a typing slip (and would overflow the solver's integer arithmetic).
MIN_BUDGET_VND = 1
MAX_BUDGET_VND = 10**15

_SUFFIX = re.compile(r"\s*(vnđ|vnd|đồng|dong|đ|d)\.?$", re.IGNORECASE)
# Thousands grouped by dots, commas, spaces (also no-break and narrow no-break, which a copied
# spreadsheet cell may carry), or underscores: 15.000.000.
_SEPARATORS = ".,_ \u00a0\u202f"
_GROUPED = re.compile(rf"^\d{{1,3}}([{_SEPARATORS}]\d{{3}})+$")
_FRACTION = re.compile(r"^\d+[.,]\d+$")

Budget = Annotated[
    int,
    Field(ge=MIN_BUDGET_VND, le=MAX_BUDGET_VND, description="Budget in whole VND, e.g. 500000000."),
]


class MoneyError(ValueError):
    """Not a whole amount of VND; ``code`` names the reason, with texts in both languages."""

    def __init__(self, code: str, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.code = code
        self.reason_vi = reason_vi
        self.reason_en = reason_en


def parse_vnd(value: object) -> int:
    """A whole, non-negative amount of VND from a number or a text such as ``15.000.000 đ``."""
    if isinstance(value, bool):
        raise MoneyError("bad_cost", "không phải số tiền", "not an amount")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise _fractional()
        amount = int(value)
    elif isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise _fractional()
        amount = int(value)
    else:
        text = _SUFFIX.sub("", str(value).strip()).strip()
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-").strip()
        if _GROUPED.match(digits):
            digits = re.sub(f"[{_SEPARATORS}]", "", digits)
        if not digits.isascii() or not digits.isdigit():
            if _FRACTION.fullmatch(digits):
                raise _fractional()
            raise MoneyError(
                "bad_cost",
                "không phải số tiền (ví dụ hợp lệ: 15000000 hoặc 15.000.000)",
                "not an amount (valid examples: 15000000 or 15,000,000)",
            )
        amount = sign * int(digits)
    if amount < 0:
        raise MoneyError("negative_cost", "số tiền không được âm", "an amount cannot be negative")
    return amount


def parse_budget(value: object) -> int:
    """A budget: a whole amount of VND between :data:`MIN_BUDGET_VND` and :data:`MAX_BUDGET_VND`."""
    amount = parse_vnd(value)
    if not MIN_BUDGET_VND <= amount <= MAX_BUDGET_VND:
        raise MoneyError(
            "budget_out_of_range",
            f"ngân sách phải từ {vnd_vi(MIN_BUDGET_VND)} đến {vnd_vi(MAX_BUDGET_VND)}",
            f"a budget must be between {vnd_en(MIN_BUDGET_VND)} and {vnd_en(MAX_BUDGET_VND)}",
        )
    return amount


def _fractional() -> MoneyError:
    return MoneyError(
        "bad_cost",
        "số tiền phải là số nguyên đồng (không có phần thập phân)",
        "an amount must be whole VND (no decimals)",
    )


def vnd_vi(amount: int) -> str:
    """``15000000`` → ``'15.000.000 đ'`` (dot as thousands separator, as in Vietnamese texts)."""
    return f"{amount:,}".replace(",", ".") + " đ"


def vnd_en(amount: int) -> str:
    """``15000000`` → ``'15,000,000 VND'``."""
    return f"{amount:,} VND"


def num_vi(value: float | Decimal, digits: int = 1) -> str:
    """``8.5`` → ``'8,5'``: decimal comma and dot thousands separator."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def num_en(value: float | Decimal, digits: int = 1) -> str:
    """``8.5`` → ``'8.5'``."""
    return f"{value:,.{digits}f}"
