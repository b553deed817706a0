"""The working calendar: sessions, holidays and swaps, per-commune hours, working time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import holidays
import pytest

from agent.vntime import VN_TZ
from alerts.calendar import load_calendar, parse_calendar
from alerts.errors import RulesError


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)  # type: ignore[misc]


BUNDLED = load_calendar()
WITH_SATURDAY = parse_calendar(
    """
communes:
  "13285":
    saturday_morning: true
    closed: [2026-12-09]
  "13288":
    weekdays: [{from: "07:30", to: "11:30"}, {from: "14:00", to: "17:30"}]
    open: [2026-12-13]
"""
)


def test_a_weekday_has_a_morning_and_an_afternoon_session() -> None:
    plan = BUNDLED.day(None, date(2026, 12, 7))  # a Monday
    assert [(a.time().isoformat(), b.time().isoformat()) for a, b in plan.sessions] == [
        ("07:00:00", "11:30:00"),
        ("13:30:00", "17:00:00"),
    ]
    assert BUNDLED.is_open(None, vn(2026, 12, 7, 9, 0))
    assert not BUNDLED.is_open(None, vn(2026, 12, 7, 12, 0))  # lunch
    assert not BUNDLED.is_open(None, vn(2026, 12, 7, 17, 0))


def test_weekends_are_closed_unless_a_commune_opens_saturday_morning() -> None:
    saturday = date(2026, 12, 12)
    assert not BUNDLED.day("13285", saturday).open
    assert BUNDLED.day("13285", saturday).reason == "cuối tuần"
    sessions = WITH_SATURDAY.day("13285", saturday).sessions
    assert [(a.hour, b.hour, b.minute) for a, b in sessions] == [(7, 11, 30)]
    assert not WITH_SATURDAY.day("13285", date(2026, 12, 13)).open  # Sunday
    assert not WITH_SATURDAY.day("13286", saturday).open  # another commune


def test_commune_overrides_close_open_and_move_sessions() -> None:
    assert not WITH_SATURDAY.day("13285", date(2026, 12, 9)).open
    assert WITH_SATURDAY.day("13288", date(2026, 12, 13)).open  # a Sunday opened by decision
    first, second = WITH_SATURDAY.day("13288", date(2026, 12, 7)).sessions
    assert (first[0].hour, first[0].minute, second[1].hour, second[1].minute) == (7, 30, 17, 30)


def test_tet_and_the_announced_swaps_come_from_the_holiday_calendar() -> None:
    tet = [date(2026, 2, 16) + timedelta(days=n) for n in range(5)]
    for day in tet:
        plan = BUNDLED.day(None, day)
        assert not plan.open
        assert plan.reason is not None
        assert "Tết" in plan.reason
    # 31/8/2026 is a day off, worked on Saturday 22/8/2026 instead.
    assert not BUNDLED.day(None, date(2026, 8, 31)).open
    make_up = BUNDLED.day(None, date(2026, 8, 22))
    assert make_up.open
    assert make_up.make_up
    assert BUNDLED.day(None, date(2026, 11, 24)).reason == "Ngày Văn hóa Việt Nam"


def test_every_swapped_day_off_of_the_package_has_its_make_up_day_in_the_data() -> None:
    # The package names the day off ("thay cho ngày 22/08/2026"), not the working day: the data
    # file must list that working day, or the centres would be judged closed when they work.
    listed = {day.date for day in BUNDLED.data.make_up_days}
    for year in (2025, 2026, 2027):
        for day, name in holidays.country_holidays("VN", years=year, language="vi").items():
            match = re.search(r"thay cho ngày (\d\d)/(\d\d)/(\d{4})", str(name))
            if match:
                worked = date(int(match[3]), int(match[2]), int(match[1]))
                assert worked in listed, f"{day}: {name}"
                replaced = next(d for d in BUNDLED.data.make_up_days if d.date == worked)
                assert replaced.replaces == day


def test_a_pc_is_expected_up_only_after_the_grace_of_an_open_session() -> None:
    assert not BUNDLED.expected_up("13285", vn(2026, 12, 7, 7, 20))
    assert BUNDLED.expected_up("13285", vn(2026, 12, 7, 7, 30))
    assert BUNDLED.expected_up("13285", vn(2026, 12, 7, 16, 59))
    assert not BUNDLED.expected_up("13285", vn(2026, 12, 7, 17, 0))
    assert not BUNDLED.expected_up("13285", vn(2026, 12, 7, 13, 45))  # afternoon grace
    assert not BUNDLED.expected_up("13285", vn(2026, 12, 12, 9, 0))  # Saturday


def test_working_time_skips_nights_weekends_and_holidays() -> None:
    friday = vn(2026, 2, 13, 16, 0)
    # One hour left on Friday, then Tết (16–20/2) and two weekends: Monday 23/2 at 10:00.
    assert BUNDLED.add_working_time(None, friday, timedelta(hours=4)) == vn(2026, 2, 23, 10, 0)
    assert BUNDLED.add_working_time(None, vn(2026, 12, 7, 11, 0), timedelta(hours=1)) == vn(
        2026, 12, 7, 14, 0
    )
    start, end = vn(2026, 12, 4, 16, 0), vn(2026, 12, 7, 8, 0)
    assert BUNDLED.working_time(None, start, end) == timedelta(hours=2)
    # A deadline and the working time up to it agree.
    deadline = BUNDLED.add_working_time("13285", vn(2026, 12, 11, 15, 10), timedelta(hours=6))
    assert BUNDLED.working_time("13285", vn(2026, 12, 11, 15, 10), deadline) == timedelta(hours=6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("opening_hours: {weekdays: [{from: '11:00', to: '08:00'}]}", "opening_hours.weekdays"),
        (
            "opening_hours: {weekdays: [{from: '07:00', to: '12:00'},"
            " {from: '11:00', to: '17:00'}]}",
            "overlap",
        ),
        ("make_up_days: [{date: 2026-08-24, replaces: 2026-08-31, source: x y}]", "weekday"),
        ("communes: {'1328': {saturday_morning: true}}", "communes.1328"),
        ("opening: {}", "unknown section"),
        ("grace_after_opening: soon", "grace_after_opening"),
    ],
)
def test_a_bad_calendar_names_the_field(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message) as caught:
        parse_calendar(text, "tinh.yaml")
    assert "tinh.yaml" in str(caught.value)
