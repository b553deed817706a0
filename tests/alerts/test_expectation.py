"""When an agent should be reporting, and why its silence is or is not a fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.vntime import VN_TZ
from alerts.calendar import load_calendar
from alerts.expectation import AgentState, Expectation, Schedule, Verdict

HEARTBEAT = timedelta(seconds=60)
EXPECT = Expectation(load_calendar(), HEARTBEAT, HEARTBEAT * 1.5)


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    """A time of the week of Monday 7 December 2026, Vietnam time."""
    return datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)


def agent(
    last: datetime,
    *,
    site: bool = False,
    goodbye: datetime | None = None,
    reason: str | None = None,
    schedule: Schedule = Schedule.AUTO,
) -> AgentState:
    return AgentState(
        id="ag_1",
        commune_code="13285",
        last_measured_at=last.astimezone(UTC),
        schedule=schedule,
        site=site,
        goodbye_at=goodbye.astimezone(UTC) if goodbye else None,
        goodbye_reason=reason,
    )


def test_a_pc_heard_within_the_limit_is_reporting() -> None:
    judged = EXPECT.judge(agent(vn(7, 9, 0)), vn(7, 9, 1))
    assert judged.verdict is Verdict.REPORTING


def test_a_pc_silent_in_opening_hours_is_silent_since_its_next_report_was_due() -> None:
    judged = EXPECT.judge(agent(vn(7, 9, 0)), vn(7, 9, 5))
    assert judged.verdict is Verdict.SILENT
    assert judged.since == vn(7, 9, 1)
    assert not judged.not_started


@pytest.mark.parametrize(
    "now",
    [vn(7, 17, 30), vn(7, 23, 0), vn(8, 6, 55), vn(8, 7, 20), vn(12, 9, 0), vn(13, 9, 0)],
    ids=["evening", "night", "before-opening", "in-the-grace", "saturday", "sunday"],
)
def test_a_pc_off_outside_the_expected_hours_is_off(now: datetime) -> None:
    judged = EXPECT.judge(agent(vn(7, 17, 5)), now)
    assert judged.verdict is Verdict.OFF


def test_a_goodbye_before_closing_explains_the_rest_of_the_day() -> None:
    # Shut down cleanly 20 minutes before closing: not a fault that afternoon ...
    said = agent(vn(7, 16, 40), goodbye=vn(7, 16, 40), reason="shutdown")
    assert EXPECT.judge(said, vn(7, 16, 55)).verdict is Verdict.OFF
    # ... but due again after the next opening's grace: it did not start.
    judged = EXPECT.judge(said, vn(8, 7, 31))
    assert judged.verdict is Verdict.SILENT
    assert judged.not_started
    assert judged.since == vn(8, 7, 30)


def test_a_pc_cut_at_the_wall_after_hours_is_due_at_the_next_opening() -> None:
    cut = agent(vn(11, 17, 40))  # Friday evening, no goodbye
    assert EXPECT.judge(cut, vn(12, 10, 0)).verdict is Verdict.OFF  # Saturday
    judged = EXPECT.judge(cut, vn(14, 7, 45))  # Monday
    assert judged.verdict is Verdict.SILENT
    assert judged.since == vn(14, 7, 30)
    assert judged.not_started


def test_a_site_agent_is_expected_always_and_gets_a_limit_to_come_back_from_a_reboot() -> None:
    site = agent(vn(7, 22, 0), site=True)
    assert EXPECT.judge(site, vn(7, 23, 0)).verdict is Verdict.SILENT
    rebooting = agent(vn(7, 22, 0), site=True, goodbye=vn(7, 22, 0), reason="reboot")
    assert EXPECT.judge(rebooting, vn(7, 22, 1)).verdict is Verdict.REPORTING
    assert EXPECT.judge(rebooting, vn(7, 22, 2)).verdict is Verdict.SILENT
    # Marked for opening hours only, a site agent is judged like a counter PC.
    marked = agent(vn(7, 22, 0), site=True, schedule=Schedule.OPENING_HOURS)
    assert EXPECT.judge(marked, vn(7, 23, 0)).verdict is Verdict.OFF
    always = agent(vn(7, 22, 0), schedule=Schedule.ALWAYS)
    assert EXPECT.judge(always, vn(7, 23, 0)).verdict is Verdict.SILENT


def test_a_holiday_is_not_a_working_day() -> None:
    # Tết 2026: Monday 16 February is a day off.
    tet_eve = datetime(2026, 2, 16, 9, 0, tzinfo=VN_TZ)
    judged = EXPECT.judge(agent(tet_eve - timedelta(days=3)), tet_eve)
    assert judged.verdict is Verdict.OFF
