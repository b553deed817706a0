"""Report periods (alerts/report_period.py): months and quarters in Vietnam time, and the errors
that name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.report_period import (
    Period,
    PeriodError,
    containing,
    last_complete,
    parse_month,
    parse_period,
    parse_quarter,
)


def test_a_month_runs_from_local_midnight_to_local_midnight() -> None:
    march = parse_month("2026-03")
    # 00:00 in Hà Nội is 17:00 UTC the day before.
    assert march.start == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    assert march.end == datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    assert march.label == "2026-03"
    assert march.title("vi") == "tháng 03/2026"
    assert march.title("en") == "March 2026"
    assert parse_month("2026-12").end == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)


def test_a_quarter_spans_three_months_and_crosses_the_year() -> None:
    q4 = parse_quarter("2025-Q4")
    assert (q4.first_day.isoformat(), q4.end_day.isoformat()) == ("2025-10-01", "2026-01-01")
    assert q4.title("vi") == "quý IV/2025"
    assert parse_quarter("2026-q1") == Period("quarter", 2026, 1)
    assert parse_quarter("2026-Q1").previous() == Period("quarter", 2025, 4)


def test_the_period_reported_now_is_the_last_one_that_ended() -> None:
    # 23:30 UTC on 31 March is already 1 April in Hà Nội.
    at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert containing("month", at).label == "2026-04"
    assert last_complete("month", at).label == "2026-03"
    assert last_complete("quarter", at).label == "2026-Q1"
    assert last_complete("month", datetime(2026, 1, 5, tzinfo=UTC)).label == "2025-12"


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("month", "2026-13", "month"),
        ("month", "03/2026", "month"),
        ("month", "1999-01", "month"),
        ("quarter", "2026-Q5", "quarter"),
        ("quarter", "2026-03", "quarter"),
        ("week", "2026-W10", "kind"),
    ],
)
def test_bad_periods_name_the_field(kind: str, value: str, field: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(kind, value)
    assert caught.value.field == field
    assert f"field '{field}'" in str(caught.value)
    assert repr(kind if field == "kind" else value) in str(caught.value)
