"""The period of an official report: a month (``2026-03``) or a quarter (``2026-Q1``) in Vietnam
time, from local midnight of its first day to local midnight after its last.

Errors name the field (``month``, ``quarter``) and say what is allowed, for the CLI, the API and
the console alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from agent.vntime import local_date, local_midnight
from alerts.errors import AlertsError

PeriodKind = Literal["month", "quarter"]
KINDS: tuple[PeriodKind, ...] = ("month", "quarter")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_ROMAN = ("I", "II", "III", "IV")
_MONTH_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Monitoring of the 2025 two-level communes began in 2025; far years are typos.
FIRST_YEAR, LAST_YEAR = 2020, 2100


class PeriodError(AlertsError):
    """A report period that cannot be read; ``field`` names the option or form field."""

    def __init__(self, field: str, value: str, allowed: str) -> None:
        self.reason = f"{value[:40]!r} is not {allowed}"
        super().__init__(f"field '{field}': {self.reason}")
        self.field = field
        self.value = value


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month (``number`` 1–12) or quarter (1–4) of ``year``."""

    kind: PeriodKind
    year: int
    number: int

    @property
    def first_month(self) -> int:
        """The period's first month (1–12)."""
        return self.number if self.kind == "month" else 3 * self.number - 2

    @property
    def months(self) -> int:
        """How many months it spans."""
        return 1 if self.kind == "month" else 3

    @property
    def first_day(self) -> date:
        """Its first local day."""
        return date(self.year, self.first_month, 1)

    @property
    def end_day(self) -> date:
        """The local day after its last."""
        month = self.first_month + self.months
        return date(self.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)

    @property
    def start(self) -> datetime:
        """Local midnight of its first day (aware)."""
        return local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """Local midnight after its last day (aware, exclusive)."""
        return local_midnight(self.end_day)

    @property
    def label(self) -> str:
        """``2026-03`` or ``2026-Q1``: what the CLI, the API and file names use."""
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        return f"{self.year}-Q{self.number}"

    def title(self, lang: Literal["vi", "en"]) -> str:
        """``tháng 03/2026`` / ``quý I/2026``, or ``March 2026`` / ``Q1 2026``."""
        if self.kind == "month":
            if lang == "vi":
                return f"tháng {self.number:02d}/{self.year}"
            return f"{_MONTH_EN[self.number - 1]} {self.year}"
        if lang == "vi":
            return f"quý {_ROMAN[self.number - 1]}/{self.year}"
        return f"Q{self.number} {self.year}"

    def previous(self) -> Period:
        """The period of the same kind just before."""
        last = 12 if self.kind == "month" else 4
        if self.number == 1:
            return Period(self.kind, self.year - 1, last)
        return Period(self.kind, self.year, self.number - 1)


def _year(text: str, field: str, value: str, allowed: str) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(field, value, allowed)
    return year


def parse_month(value: str, field: str = "month") -> Period:
    """``YYYY-MM`` as a month; a PeriodError naming ``field`` otherwise."""
    allowed = f"a month YYYY-MM (e.g. 2026-03), years {FIRST_YEAR}–{LAST_YEAR}"
    found = _MONTH.match(value.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise PeriodError(field, value, allowed)
    return Period("month", _year(found.group(1), field, value, allowed), int(found.group(2)))


def parse_quarter(value: str, field: str = "quarter") -> Period:
    """``YYYY-Qn`` (n = 1–4) as a quarter; a PeriodError naming ``field`` otherwise."""
    allowed = f"a quarter YYYY-Qn (e.g. 2026-Q1, n = 1–4), years {FIRST_YEAR}–{LAST_YEAR}"
    found = _QUARTER.match(value.strip())
    if found is None:
        raise PeriodError(field, value, allowed)
    return Period("quarter", _year(found.group(1), field, value, allowed), int(found.group(2)))


def parse_period(kind: str, value: str) -> Period:
    """A period of ``kind`` (month, quarter) from its text; the field named is the kind's."""
    if kind == "month":
        return parse_month(value)
    if kind == "quarter":
        return parse_quarter(value)
    raise PeriodError("kind", kind, "one of month, quarter")


def containing(kind: PeriodKind, at: datetime) -> Period:
    """The period of ``kind`` that contains ``at`` (Vietnam time)."""
    day = local_date(at)
    if kind == "month":
        return Period("month", day.year, day.month)
    return Period("quarter", day.year, (day.month - 1) // 3 + 1)


def last_complete(kind: PeriodKind, at: datetime) -> Period:
    """The last period of ``kind`` that ended before ``at``: what is reported now."""
    return containing(kind, at).previous()
