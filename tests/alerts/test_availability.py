"""Availability per commune in opening hours (today / 7 / 30 days) from site outages: the
arithmetic on the working calendar, and the figures read from a fed store (both stores). The
pages that show them are tests/web/routes/test_overview.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agent.vntime import VN_TZ
from alerts.availability import availability_of, commune_availability, window_starts
from alerts.calendar import load_calendar
from alerts.schema import incidents
from tests.web.support import Province

CALENDAR = load_calendar()
# 10:00 in Hà Nội on Tuesday 10 March 2026: 'today' began at 17:00 UTC the day before, and
# three hours of it were open (07:00–10:00).
NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
H = timedelta(hours=1)


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=VN_TZ)


def test_today_starts_at_midnight_vietnam_time() -> None:
    starts = window_starts(NOW)
    assert starts["today"] == datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
    assert starts["7d"] == NOW - timedelta(days=7)
    assert starts["30d"] == NOW - timedelta(days=30)


def test_only_open_time_counts_up_or_down() -> None:
    outages = [
        (vn(10, 8), vn(10, 9)),  # one of today's three open hours
        (vn(9, 20), vn(10, 1)),  # a night outage troubles no citizen
        (vn(10, 8), vn(10, 8, 30)),  # the same outage reopened: must not count twice
    ]
    figures = availability_of(outages, vn(1, 0), NOW, CALENDAR, "13285")
    week_open = CALENDAR.working_time("13285", NOW - timedelta(days=7), NOW)
    assert figures.today == pytest.approx(1 - 1 / 3)
    assert figures.week == pytest.approx(1 - H / week_open)


def test_a_closed_window_has_no_figure_rather_than_a_false_hundred() -> None:
    sunday = vn(8, 10)
    figures = availability_of([(vn(8, 9), vn(8, 11))], vn(1, 0), sunday, CALENDAR, "13285")
    assert figures.today is None  # nothing was open today
    assert figures.week == 1.0  # the Sunday outage does not count against the week


def test_the_window_starts_with_the_first_report_not_the_enrolment() -> None:
    first_report = vn(10, 8)
    figures = availability_of([(vn(10, 9), NOW)], first_report, NOW, CALENDAR, "13285")
    assert figures.by_window() == {"today": 0.5, "7d": 0.5, "30d": 0.5}
    assert availability_of([], None, NOW, CALENDAR).by_window() == {
        "today": None,
        "7d": None,
        "30d": None,
    }
    assert availability_of([], NOW, NOW, CALENDAR).today is None  # nothing yet
    assert availability_of([], NOW - H, NOW, CALENDAR).month == 1.0


def test_the_cut_communes_outage_lowers_its_figures_in_the_store(province: Province) -> None:
    world = province.world
    now = world.clock.now()
    with world.engine.connect() as conn:
        started = conn.execute(
            select(incidents.c.started_at).where(
                incidents.c.problem_class == "site_outage",
                incidents.c.commune_code == province.cut,
                incidents.c.active.is_(True),
            )
        ).scalar_one()
    first_report = now - timedelta(seconds=4 * 60)  # the world enrolled, then ticked four times
    share = 1 - (now - started) / (now - first_report)
    cut = commune_availability(world.engine, province.cut, now, CALENDAR)
    assert cut.month == pytest.approx(share, abs=1e-6)
    assert cut.today == cut.week == cut.month
    assert commune_availability(world.engine, province.other, now, CALENDAR).by_window() == {
        "today": 1.0,
        "7d": 1.0,
        "30d": 1.0,
    }
