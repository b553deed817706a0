"""Numbers and money in explanations: Vietnamese style (15.000.000 đ, 8,5) and English style."""

from __future__ import annotations

from decimal import Decimal


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
