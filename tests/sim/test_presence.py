"""Counter PCs live by the working calendar: on around opening, off around closing, a goodbye
when shut down cleanly, nothing on closed days, and the agent's own start and stop events."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest

from agent.vntime import VN_TZ, local_date
from alerts.calendar import load_calendar, parse_calendar
from collector.communes import BUNDLED_UNITS
from sim import Behaviour, FaultView, generate_fleet, parse_scenario
from sim.fleet import Fleet, SimAgent
from sim.presence import Ending, Presence
from sim.timeline import calendar_text

# Monday 20 April 2026 to Sunday 10 May: Hùng Kings (Sun 26/4, observed Mon 27/4), 30/4 and 1/5.
FIRST = date(2026, 4, 20)
DAYS = 21
SPREAD = timedelta(minutes=20)
STEP = timedelta(minutes=5)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet(BUNDLED_UNITS, "37", seed=7, max_communes=3)


def _pcs(fleet: Fleet) -> list[SimAgent]:
    return [agent for agent in fleet.agents if agent.role == "pc"]


def _instants(first: date, days: int, step: timedelta = STEP) -> list[datetime]:
    at = datetime.combine(first, datetime.min.time(), VN_TZ).astimezone(UTC)
    end = at + timedelta(days=days)
    out = []
    while at < end:
        out.append(at)
        at += step
    return out


def test_same_seed_same_days_other_seed_other_days(fleet: Fleet) -> None:
    calendar = load_calendar()
    pcs = _pcs(fleet)
    times = _instants(FIRST, 2, timedelta(minutes=30))
    first = [Presence(calendar, 1).span(a.key, a.commune_code, t) for a in pcs for t in times]
    again = [Presence(calendar, 1).span(a.key, a.commune_code, t) for a in pcs for t in times]
    other = [Presence(calendar, 2).span(a.key, a.commune_code, t) for a in pcs for t in times]
    assert first == again
    assert first != other
    # Asked in another order (a live run after a back-fill, a test about one instant): same answer.
    backwards = Presence(calendar, 1)
    assert [backwards.span(a.key, a.commune_code, t) for a in pcs for t in reversed(times)] == [
        first[i * len(times) + j] for i in range(len(pcs)) for j in reversed(range(len(times)))
    ]


def test_pcs_are_on_when_expected_and_nobody_starts_one_on_a_closed_day(fleet: Fleet) -> None:
    calendar = load_calendar()
    presence = Presence(calendar, fleet.seed)
    starts_on_closed_days = 0
    endings: Counter[Ending] = Counter()
    for agent in _pcs(fleet):
        code = agent.commune_code
        previous = None
        for at in _instants(FIRST, DAYS):
            span = presence.span(agent.key, code, at)
            plan = calendar.day(code, local_date(at))
            if span is not None and span != previous:
                if not calendar.day(code, local_date(span.on_at)).open:
                    starts_on_closed_days += 1
                if span.on_at >= at - STEP:
                    # Switched on around the first session's opening, never at another time.
                    opening = calendar.day(code, local_date(span.on_at)).sessions[0][0]
                    assert abs(span.on_at - opening) <= SPREAD, (agent.key, span)
                previous = span
            if plan.open:
                opened, closed = plan.sessions[0][0], plan.sessions[-1][1]
                # From the grace after opening until the earliest clean shutdown: on.
                if opened + calendar.grace <= at < closed - SPREAD:
                    assert span is not None, (agent.key, at)
            if span is not None and not span.clean_end and span.off_at <= at + STEP:
                # Cut at the wall (or left on, then cut): only after the day's last session.
                last_close = calendar.day(code, local_date(span.off_at)).sessions[-1][1]
                assert span.off_at > last_close, (agent.key, span)
        for day in range(DAYS):
            drawn = presence.plan(agent.key, code, FIRST + timedelta(days=day))
            if drawn is not None:
                endings[presence.ending(agent.key, code, drawn)] += 1
    assert starts_on_closed_days == 0
    total = sum(endings.values())
    # Most shut down cleanly, some are cut at the wall, a few left on overnight.
    assert endings[Ending.CLEAN] / total > 0.7
    assert 0.05 < endings[Ending.CUT] / total < 0.25
    assert 0.01 < endings[Ending.LEFT_ON] / total < 0.15


def test_holidays_and_weekends_are_quiet_and_saturday_opens_where_the_calendar_says(
    fleet: Fleet,
) -> None:
    saturday_commune = fleet.communes[1].code
    calendar = parse_calendar(calendar_text([saturday_commune]), "demo-calendar.yaml")
    presence = Presence(calendar, fleet.seed)
    saturday_nine = datetime(2026, 5, 9, 9, 0, tzinfo=VN_TZ)
    holiday_ten = datetime(2026, 4, 30, 10, 0, tzinfo=VN_TZ)
    for agent in _pcs(fleet):
        holiday = presence.span(agent.key, agent.commune_code, holiday_ten)
        # On 30/4 only a PC left on since the day before can be on.
        assert holiday is None or local_date(holiday.on_at) < date(2026, 4, 30)
        saturday = presence.span(agent.key, agent.commune_code, saturday_nine)
        if agent.commune_code == saturday_commune:
            assert saturday is not None
            assert local_date(saturday.on_at) in (date(2026, 5, 8), date(2026, 5, 9))
        else:
            assert saturday is None or local_date(saturday.on_at) < date(2026, 5, 9)


def _events(devices: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for d in devices if d["kind"] == "pc" for e in d["events"] if e["type"] == kind]


def test_a_pc_says_goodbye_when_shut_down_and_tells_how_it_stopped_when_it_starts(
    fleet: Fleet,
) -> None:
    start = datetime(2026, 4, 20, 0, 0, tzinfo=VN_TZ).astimezone(UTC)
    # One PC pulled from the wall at 10:00 on the second day, back at 10:30.
    scenario = parse_scenario(
        """
faults:
  - {id: pulled, type: device_off, start: 1d10h, duration: 30m,
     target: {scope: device, commune: 0, kind: pc, index: 0}}
""",
        "pulled.yaml",
    ).resolve(fleet, start)
    pulled = scenario.faults[0].device_id
    behaviour = Behaviour(fleet, fleet.seed, start)
    step = 300.0
    restarts: list[tuple[datetime, str]] = []
    checked = Counter[str]()
    for agent in _pcs(fleet):
        last: tuple[datetime, list[dict[str, Any]]] | None = None
        for at in _instants(local_date(start), 4):
            view = FaultView.at(scenario.faults, at)
            report = behaviour.agent_report(agent, at, step, view)
            if report is None:
                continue
            devices = cast(list[dict[str, Any]], report)
            uptime = next(
                s["value"] for s in devices[0]["samples"] if s["name"] == "uptime_seconds"
            )
            for event in _events(devices, "agent_started"):
                attrs = event["attrs"]
                assert set(attrs) == {
                    "version", "config_source", "config_etag", "previous_stop", "boot_time",
                    "uptime_seconds",
                }  # fmt: skip
                boot = datetime.fromisoformat(attrs["boot_time"])
                assert boot.utcoffset() == timedelta(0)
                assert 0 <= float(attrs["uptime_seconds"]) <= step
                assert abs((at - boot).total_seconds() - uptime) <= 1  # the uptime began again
                assert last is not None or attrs["previous_stop"] in ("clean", "unclean")
                if last is not None:
                    said = _events(last[1], "agent_stopping")
                    # How the last run ended: with its goodbye, or not.
                    assert attrs["previous_stop"] == ("clean" if said else "unclean")
                    checked[attrs["previous_stop"]] += 1
                if agent.devices[0].device_id == pulled:
                    restarts.append((at, attrs["previous_stop"]))
            for event in _events(devices, "agent_stopping"):
                assert event["severity"] == "info"
                assert event["attrs"]["reason"] == "shutdown"
                assert float(event["attrs"]["uptime_seconds"]) == pytest.approx(uptime, abs=1)
            if last is not None and _events(last[1], "agent_stopping"):
                assert at - last[0] > timedelta(hours=8), "a goodbye is the last report"
            last = (at, devices)
    # The PC pulled from the wall came back as soon as the fault ended, saying so.
    end = scenario.faults[0].end
    assert (end, "unclean") in restarts or (end + timedelta(seconds=step), "unclean") in restarts
    # Across the PCs and days both kinds of start were seen and checked against the reports.
    assert checked["clean"] > 10
    assert checked["unclean"] >= 1
