"""Rules and routing as data: the bundled files load, bad files fail naming rule and field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.errors import RulesError
from alerts.forecast import days_to_empty
from alerts.routing import load_routing, parse_routing
from alerts.rules import PROBLEM_CLASSES, load_rules, parse_duration, parse_rules


def test_bundled_rules_and_routing_load() -> None:
    rules = load_rules()
    routing = load_routing()
    assert {rule.name for rule in rules.rules} >= {"disk_full", "smart_failing", "supply_low"}
    assert rules.silence.heartbeat_factor == 1.5
    assert rules.tickets.hold_down == timedelta(minutes=5)
    # Every problem class has an owner by an explicit route (nothing falls to the default);
    # software outages by their central system.
    for problem_class in PROBLEM_CLASSES:
        system = "motcua" if problem_class == "software_outage" else None
        assert not routing.route(problem_class, "25117", None, system).unrouted, problem_class


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - {name: a, problem_class: device_health, metric: m, op: '>',"
            " threshold: 1}\n"
            "  - {name: disk_full, problem_class: printer_jam, metric: m, op: '>', threshold: 1}\n",
            "rules.yaml rule 1 (disk_full), field 'problem_class'",
        ),
        (
            "rules:\n  - {name: d, problem_class: device_health, metric: m, op: '=>',"
            " threshold: 1}",
            "rules.yaml rule 0 (d), field 'op'",
        ),
        (
            "rules:\n  - {name: d, problem_class: device_health, metric: m, op: '>', threshold: 1,"
            " for: soon}",
            "rules.yaml rule 0 (d), field 'for'",
        ),
        (
            "rules:\n  - {name: d, problem_class: device_health, metric: m, op: '>',"
            " threshold: 1}\n"
            "  - {name: d, problem_class: device_health, metric: m, op: '>', threshold: 2}\n",
            "rules.yaml rule 1 (d), field 'name'",
        ),
        (
            "rules:\n  - {name: d, problem_class: device_health, metric: m, op: '<', threshold: 1,"
            " forecast_days: 3}",
            "field 'forecast_days'",
        ),
        ("software: {province_share: 2}", "section 'software', field 'province_share'"),
        ("tickets: {hold_down: -5}", "section 'tickets', field 'hold_down'"),
        ("alarms: []", "unknown section(s) alarms"),
        ("rules: [", "not valid YAML"),
    ],
)
def test_bad_rules_name_rule_and_field(text: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert expected in str(caught.value)


_OWNERS = """
default_owner: team
owners:
  team: {kind: team, name_vi: Tổ CNTT, sla: {respond: 1h, resolve: 1d}}
  isp: {kind: vendor, name_vi: Nhà mạng, sla: {respond: 30m, resolve: 4h}}
"""


def test_unmatched_ticket_goes_to_the_default_team_flagged() -> None:
    routing = parse_routing(
        _OWNERS + "routes:\n  - {name: link, problem_classes: [site_outage], communes: ['25117'],"
        " owner: isp}\n"
    )
    matched = routing.route("site_outage", "25117", None)
    assert (matched.owner_id, matched.route, matched.unrouted) == ("isp", "link", False)
    other = routing.route("site_outage", "25120", None)
    assert (other.owner_id, other.route, other.unrouted) == ("team", None, True)


def test_device_kind_condition_routes() -> None:
    routing = parse_routing(
        _OWNERS + "routes:\n  - {name: pr, device_kinds: [printer], owner: isp}\n"
    )
    assert routing.route("device_down", "1", "printer").owner_id == "isp"
    assert routing.route("device_down", "1", "pc").unrouted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_OWNERS + "routes:\n  - {name: x, owner: nobody}", "route 0 (x), field 'owner'"),
        (
            _OWNERS + "routes:\n  - {name: x, problem_classes: [jam], owner: isp}",
            "route 0 (x), field 'problem_classes.0'",
        ),
        (
            "default_owner: t\nowners:\n  t: {kind: team, name_vi: T, sla: {respond: 1h}}",
            "owner 't', field 'sla.resolve'",
        ),
        (_OWNERS.replace("default_owner: team", "default_owner: ghost"), "'default_owner'"),
        (
            _OWNERS.replace("kind: vendor,", "kind: vendor, escalate_to: boss,"),
            "owner 'isp', field 'escalate_to'",
        ),
    ],
)
def test_bad_routing_names_entry_and_field(text: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_routing(text)
    assert expected in str(caught.value)


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1.5d") == timedelta(hours=36)
    assert parse_duration(30) == timedelta(seconds=30)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_forecast_fits_a_trend_not_the_last_value() -> None:
    hour = 3600.0
    # Falling 1 point an hour with noise: 20 % left -> about 20 hours.
    history = [[i * hour, 30.0 - i + (0.5 if i % 2 else -0.5)] for i in range(10)]
    days = days_to_empty(history, min_points=4, min_span=timedelta(hours=1))
    assert days is not None
    assert 0.7 < days < 1.0
    rising = [[i * hour, 10.0 + i] for i in range(5)]
    assert days_to_empty(rising, min_points=4, min_span=timedelta(hours=1)) is None
    assert days_to_empty(history[:3], min_points=4, min_span=timedelta(hours=1)) is None
