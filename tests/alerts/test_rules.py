"""Rules as data (alerts/rules.py): the bundled files load, bad files fail naming rule and field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.errors import RulesError
from alerts.forecast import days_to_empty
from alerts.routing import load_routing
from alerts.rules import PROBLEM_CLASSES, load_rules, parse_duration, parse_rules


def test_bundled_rules_and_routing_load() -> None:
    rules = load_rules()
    routing = load_routing()
    assert {rule.name for rule in rules.rules} >= {"disk_full", "smart_failing", "printer_error"}
    assert rules.printer.forecast_days == 3
    assert rules.silence.heartbeat_factor == 1.5
    assert rules.tickets.hold_down == timedelta(minutes=5)
    # Every problem class has an owner by an explicit route (nothing falls to the default);
    # software outages and central TLS certificates by their central system.
    for problem_class in PROBLEM_CLASSES:
        system = "motcua" if problem_class in ("software_outage", "tls_cert_expiring") else None
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
        (
            "rules:\n  - {name: s, problem_class: printer_supply_low, metric: m, op: '<',"
            " threshold: 10}",
            "rules.yaml rule 0 (s), field 'problem_class': printer supplies are judged",
        ),
        ("printer: {low_percent: 120}", "section 'printer', field 'low_percent'"),
        ("upstream: {share: 0}", "section 'upstream', field 'share'"),
        ("guards: {processing_lag: later}", "section 'guards', field 'processing_lag'"),
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
