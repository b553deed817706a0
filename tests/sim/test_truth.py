"""Ground truth is what the province should be told: judged against the working calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from agent.vntime import VN_TZ
from alerts.rules import load_rules
from collector.communes import BUNDLED_UNITS
from sim import ExpectedIncident, generate_fleet, parse_scenario, symptoms, truth
from sim.fleet import Fleet
from sim.signing import EXPIRING_LEFT

# Thursday 5 March 2026, 00:00 in Hà Nội.
THURSDAY = datetime(2026, 3, 5, 0, 0, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet(BUNDLED_UNITS, "37", seed=4, max_communes=3)


def _truth(fleet: Fleet, fault: str) -> list[ExpectedIncident]:
    return list(
        parse_scenario(f"faults: [{fault}]", "t.yaml").resolve(fleet, THURSDAY).ground_truth
    )


def _at(hours: float) -> datetime:
    return THURSDAY + timedelta(hours=hours)


def test_a_maintenance_page_is_an_outage_only_in_opening_hours(fleet: Fleet) -> None:
    page = "{type: maintenance_page, start: %s, duration: %s, target: {system: motcua}}"
    (in_hours,) = _truth(fleet, page % ("9h", "30m"))
    assert (in_hours.problem_class, in_hours.system, in_hours.commune_code) == (
        "software_outage",
        "motcua",
        None,
    )
    assert (in_hours.start, in_hours.end) == (_at(9), _at(9.5))
    # Over lunch (11:30–13:30) no citizen is at the counter: two stretches of the same outage.
    over_lunch = _truth(fleet, page % ("11h", "3h"))
    assert [(t.start, t.end) for t in over_lunch] == [(_at(11), _at(11.5)), (_at(13.5), _at(14))]
    assert _truth(fleet, page % ("20h", "2h")) == []  # at night
    assert _truth(fleet, page % ("2d9h", "2h")) == []  # Saturday


def test_declared_maintenance_is_no_ticket_but_a_window(fleet: Fleet) -> None:
    text = """faults: [{id: planned, type: declared_maintenance, start: 9h, duration: 30m,
                         target: {system: dvcqg}}]"""
    resolved = parse_scenario(text, "t.yaml").resolve(fleet, THURSDAY)
    assert resolved.ground_truth == ()
    (window,) = resolved.windows
    assert window.kind == "maintenance"
    assert window.scope.systems == ("dvcqg",)
    assert window.starts_at < _at(9)
    assert window.ends_at > _at(9.5)
    assert "planned" in window.reason


def test_the_collector_uplink_is_one_upstream_outage(fleet: Fleet) -> None:
    (truth,) = _truth(fleet, "{type: collector_uplink_down, start: 21h, duration: 20m}")
    assert (truth.problem_class, truth.commune_code, truth.device_id) == (
        "upstream_outage",
        None,
        None,
    )


def test_a_pc_not_started_is_down_from_the_opening_plus_the_grace(fleet: Fleet) -> None:
    pc = "target: {scope: device, commune: 1, kind: pc, index: 2}"
    (late,) = _truth(fleet, f"{{type: pc_not_started, start: 6h, duration: 3h, {pc}}}")
    assert (late.problem_class, late.start, late.end) == ("device_down", _at(7.5), _at(9))
    assert late.device_id == fleet.communes[1].devices[2].device_id
    # Switched on within the grace: no fault at all.
    assert _truth(fleet, f"{{type: pc_not_started, start: 6h, duration: 85m, {pc}}}") == []


def test_a_pc_switched_off_counts_only_while_it_is_expected(fleet: Fleet) -> None:
    pc = "target: {scope: device, commune: 0, kind: pc, index: 0}"
    (day,) = _truth(fleet, f"{{type: device_off, start: 10h, duration: 1h, {pc}}}")
    assert (day.start, day.end) == (_at(10), _at(11))
    (evening,) = _truth(fleet, f"{{type: device_off, start: 16h, duration: 3h, {pc}}}")
    assert evening.start == _at(16)
    assert _truth(fleet, f"{{type: device_off, start: 19h, duration: 2h, {pc}}}") == []
    # A router has no opening hours.
    router = "target: {scope: device, commune: 0, kind: router, index: 0}"
    (night,) = _truth(fleet, f"{{type: device_off, start: 19h, duration: 2h, {router}}}")
    assert night.start == _at(19)


def test_the_signing_thresholds_are_the_bundled_rules() -> None:
    signing = load_rules().signing
    assert signing.plugin_down_for == truth.PLUGIN_DOWN_FOR
    assert signing.token_absent_for == truth.TOKEN_ABSENT_FOR
    # Days left at the fault's start: within the rule's days.
    assert EXPIRING_LEFT.days < signing.cert_days
    # The test oracle's thresholds too (sim/symptoms.py).
    assert (
        signing.cert_days,
        signing.token_absent_for,
    ) == (symptoms._CERT_DAYS, symptoms._TOKEN_AWAY)


def test_signing_faults_are_judged_as_the_detector_judges_them(fleet: Fleet) -> None:
    pc = "target: {scope: device, commune: 1, kind: pc, index: 0}"
    (broken,) = _truth(fleet, f"{{type: plugin_broken, start: 9h, duration: 20m, {pc}}}")
    assert (broken.problem_class, broken.start, broken.end) == (
        "signing_plugin_down",
        _at(9),
        _at(9 + 1 / 3),
    )
    assert broken.raised_at == _at(9) + timedelta(minutes=5)
    # A certificate is read by the tokens rounds, on the ten-minute marks.
    (cert,) = _truth(fleet, f"{{type: cert_expiring, start: 9h3m, duration: 1h, {pc}}}")
    assert (cert.problem_class, cert.start, cert.end) == (
        "signing_cert_expiring",
        _at(9 + 1 / 6),
        _at(10 + 1 / 6),
    )
    # A token away an hour of opening time: from 08:00 the ticket opens at 09:00.
    (away,) = _truth(fleet, f"{{type: token_missing, start: 8h, duration: 2h, {pc}}}")
    assert (away.problem_class, away.start, away.end, away.raised_at) == (
        "token_missing",
        _at(8),
        _at(10),
        _at(9),
    )
    # Over lunch only opening time counts: 11:00–11:30 and 13:30–14:00 make the hour.
    (lunch,) = _truth(fleet, f"{{type: token_missing, start: 11h, duration: 3h10m, {pc}}}")
    assert lunch.raised_at == _at(14)
    # Back before an hour of opening time, or away at night: nothing to tell.
    assert _truth(fleet, f"{{type: token_missing, start: 8h, duration: 50m, {pc}}}") == []
    assert _truth(fleet, f"{{type: token_missing, start: 18h, duration: 12h, {pc}}}") == []
