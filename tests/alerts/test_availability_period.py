"""Availability in opening hours over an arbitrary period (alerts.availability.availability_between,
the official report's): clipped to the period and to the first report, nights and weekends not
counted, overlapping outages counted once."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.vntime import VN_TZ
from alerts.availability import availability_between
from alerts.calendar import load_calendar

CALENDAR = load_calendar()
H = timedelta(hours=1)


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=VN_TZ)


def test_a_week_of_march_with_one_morning_outage() -> None:
    # Monday 9 to Monday 16 March 2026: five open days of 8 hours.
    outages = [
        (vn(10, 8), vn(10, 10)),  # two open hours on Tuesday
        (vn(10, 9), vn(10, 9, 30)),  # the same outage reopened: counted once
        (vn(13, 20), vn(14, 23)),  # Friday night and Saturday: nobody at the counter
    ]
    figures = availability_between(outages, vn(1, 0), vn(9, 0), vn(16, 0), CALENDAR, "13285")
    assert figures.open_time == 40 * H
    assert figures.down_time == 2 * H
    assert figures.share == 1 - 2 / 40


def test_clipped_to_the_period_and_the_first_report() -> None:
    outages = [(vn(6, 16), vn(9, 8))]  # from Friday afternoon into the period's first morning
    since = vn(9, 7, 30)  # the first report came on Monday at 07:30
    figures = availability_between(outages, since, vn(9, 0), vn(10, 0), CALENDAR, "13285")
    assert figures.open_time == 7.5 * H
    assert figures.down_time == 0.5 * H


def test_no_figure_without_monitoring_or_open_time() -> None:
    nothing = availability_between([], None, vn(9, 0), vn(16, 0), CALENDAR)
    assert (nothing.open_time, nothing.share) == (timedelta(0), None)
    later = availability_between([], vn(20, 0), vn(9, 0), vn(16, 0), CALENDAR)
    assert later.share is None
    weekend = availability_between(
        [(vn(14, 8), vn(14, 9))], vn(1, 0), vn(14, 0), vn(16, 0), CALENDAR
    )
    assert weekend.share is None  # Saturday and Sunday: closed
