"""The demo's time: its default start, its pace and the timeline it prints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from agent.vntime import VN_TZ
from alerts.calendar import load_calendar, parse_calendar
from collector.communes import BUNDLED_UNITS
from sim import generate_fleet, load_scenario
from sim.timeline import Pace, calendar_text, default_start, parse_start, timeline


def _vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("now", "friday"),
    [
        (_vn(11, 10), _vn(6, 15, 30)),  # a Wednesday: the Friday before
        (_vn(13, 16), _vn(13, 15, 30)),  # a Friday after 15:30: today
        (_vn(13, 15), _vn(6, 15, 30)),  # a Friday before 15:30: a week ago
        (_vn(14, 3), _vn(13, 15, 30)),  # Saturday night
    ],
)
def test_the_default_start_is_the_most_recent_friday_half_past_three(
    now: datetime, friday: datetime
) -> None:
    start = default_start(now.astimezone(UTC))
    assert start == friday
    assert start.tzinfo == UTC


def test_start_option_takes_now_or_a_vietnam_time_and_refuses_the_future() -> None:
    now = _vn(11, 10, 7).astimezone(UTC)
    assert parse_start(None, now) == _vn(6, 15, 30)
    assert parse_start("now", now) == now.replace(second=0)
    assert parse_start("2026-03-09T08:00", now) == _vn(9, 8)  # no offset: Vietnam time
    assert parse_start("2026-03-09T01:00+00:00", now) == _vn(9, 8)
    with pytest.raises(ValueError, match="--start 'tomorrow' is not 'now' nor a time"):
        parse_start("tomorrow", now)
    with pytest.raises(ValueError, match="in the future"):
        parse_start("2026-03-12T08:00", now)


def test_the_demo_calendar_opens_the_scenario_saturday_communes_only() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=3)
    saturday_commune, other = fleet.communes[2].code, fleet.communes[0].code
    calendar = parse_calendar(calendar_text([saturday_commune]), "demo.yaml")
    bundled = load_calendar()
    saturday = date(2026, 3, 7)
    assert calendar.day(saturday_commune, saturday).open
    assert not calendar.day(other, saturday).open
    # Everything else is the bundled calendar's: sessions, grace, holidays, make-up days.
    assert calendar.grace == bundled.grace
    assert calendar.data.make_up_days == bundled.data.make_up_days
    assert calendar.day(other, date(2026, 3, 6)) == bundled.day(other, date(2026, 3, 6))
    assert not calendar.day(saturday_commune, date(2026, 4, 30)).open  # a holiday still


def test_the_pace_is_quick_only_when_nothing_can_be_seen() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=3)
    friday = _vn(6, 15, 30).astimezone(UTC)
    scenario = load_scenario()
    saturdays = scenario.resolve(fleet, friday).saturday_communes
    calendar = parse_calendar(calendar_text(saturdays), "demo.yaml")
    resolved = scenario.resolve(fleet, friday, calendar)
    codes = tuple(c.code for c in fleet.communes)
    pace = Pace(calendar, codes, resolved.faults, speed=60.0, quiet_speed=600.0)
    assert pace.speed_at(_vn(6, 16)) == 60.0  # at work
    assert pace.speed_at(_vn(6, 17, 20)) == 60.0  # the evening shutdown
    assert pace.speed_at(_vn(6, 20, 30)) == 600.0  # a quiet evening
    assert pace.speed_at(_vn(6, 22, 10)) == 60.0  # the collector's uplink fails
    assert pace.speed_at(_vn(7, 3)) == 600.0  # night
    assert pace.speed_at(_vn(7, 9)) == 60.0  # the Saturday commune is open
    assert pace.speed_at(_vn(8, 9)) == 600.0  # Sunday
    # Friday 15:30 to Saturday noon plays in about eleven minutes: under a quarter of an hour.
    changes = pace.changes(friday, _vn(7, 12).astimezone(UTC), timedelta(minutes=1))
    ends = [at for at, _speed in changes[1:]] + [_vn(7, 12).astimezone(UTC)]
    real = sum(
        (end - at).total_seconds() / speed for (at, speed), end in zip(changes, ends, strict=True)
    )
    assert 5 * 60 < real < 15 * 60


def test_the_timeline_says_what_happens_when_and_which_should_raise_a_ticket() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=3)
    friday = _vn(6, 15, 30).astimezone(UTC)
    scenario = load_scenario()
    calendar = parse_calendar(
        calendar_text(scenario.resolve(fleet, friday).saturday_communes), "demo.yaml"
    )
    resolved = scenario.resolve(fleet, friday, calendar)
    codes = [c.code for c in fleet.communes]
    pace = Pace(calendar, tuple(codes), resolved.faults, 60.0, 600.0)
    lines = timeline(resolved, calendar, codes, friday, pace)
    text = "\n".join(lines)
    assert lines[0].startswith("T6/Fri 15:30")
    assert "maintenance window declared: dvcqg" in text
    assert "(portal-planned-maintenance): no ticket (declared maintenance window)" in text
    assert "(evening-maintenance): no ticket (outside opening hours)" in text
    assert "ticket software_outage 16:04–16:20" in text  # the undeclared page, at work
    assert "ticket upstream_outage 22:00–22:20" in text
    assert "T6/Fri 16:40  closing: PCs shut down" in text
    assert f"T7/Sat 06:40  opening ({codes[2]})" in text
    assert "ticket device_down 07:30–08:30" in text
    assert "pace ×600" in text
    # In order of time.
    assert lines == sorted(lines, key=lambda line: ("T6", "T7").index(line[:2]))
