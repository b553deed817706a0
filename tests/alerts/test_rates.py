"""Counter rates (alerts/rates.py): interface errors per second above a threshold for a duration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from alerts.errors import RulesError
from alerts.rates import evaluate_rates
from alerts.rules import load_rules, parse_rules
from tests.alerts.support import HEARTBEAT, World


class Router:
    """A site router's interface error counters, advanced by a chosen rate each heartbeat."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.errors = {"wan": 1_000.0, "lan": 50.0}

    def step(self, wan_per_second: float, lan_per_second: float = 0.0) -> dict[str, Any]:
        self.errors["wan"] += wan_per_second * HEARTBEAT
        self.errors["lan"] += lan_per_second * HEARTBEAT
        return self.device()

    def device(self) -> dict[str, Any]:
        samples: list[dict[str, Any]] = [{"name": "snmp_up", "value": 1.0}]
        for index, name in enumerate(("wan", "lan"), start=1):
            labels = {"if_index": str(index), "interface": name}
            samples += [
                {"name": "if_oper_up", "value": 1.0, "labels": labels},
                {"name": "if_in_errors_total", "value": self.errors[name], "labels": labels},
                {"name": "if_out_errors_total", "value": 0.0, "labels": labels},
            ]
        return {"device_id": self.device_id, "kind": "router", "samples": samples}


def _interface_tickets(world: World) -> list[Any]:
    return [row for row in world.tickets() if row.problem_class == "device_health"]


def test_sustained_error_rate_opens_one_ticket_and_resolves(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    router = Router(f"{commune}-RT-0")
    agent = world.enrol(commune, [router.device()])
    for _ in range(3):
        agent.devices = [router.step(0.05)]  # a few errors: normal
        world.tick()
    # The WAN port starts taking 10 errors/s: the first report measuring it is the start.
    onset = world.clock.now()
    for minute in range(10):
        agent.devices = [router.step(10.0)]
        world.tick()
        if minute < 9:
            assert _interface_tickets(world) == []  # not yet 10 minutes
    agent.devices = [router.step(10.0)]
    world.tick()
    (ticket,) = _interface_tickets(world)
    assert ticket.started_at == onset
    assert ticket.state == "open"
    assert ticket.device_id == router.device_id
    assert ticket.owner == "commune-it"
    evidence = json.loads(ticket.evidence)
    assert evidence["if_in_errors_total{if_index=1,interface=wan} /s"] == pytest.approx(10.0)
    assert "Cổng mạng nhận gói lỗi liên tục" in ticket.body_vi
    assert "Interface receiving errors" in ticket.body_en
    # Still breaking: the same ticket, no duplicate.
    for _ in range(3):
        agent.devices = [router.step(12.0)]
        world.tick()
    assert len(_interface_tickets(world)) == 1
    # The cable is replaced: the first clean report ends it, the hold-down resolves it.
    recovered = world.clock.now()
    for _ in range(7):
        agent.devices = [router.step(0.0)]
        world.tick()
    (ticket,) = _interface_tickets(world)
    assert ticket.ended_at == recovered
    assert ticket.state == "resolved"


def test_short_burst_and_counter_reset_raise_nothing(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    router = Router(f"{commune}-RT-0")
    agent = world.enrol(commune, [router.device()])
    world.tick()
    for _ in range(5):  # five minutes of errors: under the rule's 10
        agent.devices = [router.step(20.0)]
        world.tick()
    # The router reboots: counters restart near zero (a fall, never a negative rate).
    router.errors = {"wan": 3.0, "lan": 0.0}
    for _ in range(12):
        agent.devices = [router.step(0.01)]
        world.tick()
    assert _interface_tickets(world) == []
    # The pending start was cleared by the burst's end: a new run counts from its own start.
    onset = world.clock.now()
    for _ in range(11):
        agent.devices = [router.step(0.0, lan_per_second=5.0)]
        world.tick()
    (ticket,) = _interface_tickets(world)
    assert ticket.started_at == onset
    assert "interface=lan" in next(iter(json.loads(ticket.evidence)))


def test_replayed_reports_give_the_measured_start(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    router = Router(f"{commune}-RT-0")
    agent = world.enrol(commune, [router.device()])
    world.tick()
    onset = world.clock.now()
    # The site agent cannot send for 12 minutes, then its backlog arrives in one batch.
    for _ in range(12):
        agent.devices = [router.step(10.0)]
        world.measure(agent)
        world.clock.advance(HEARTBEAT)
    world.deliver(agent)
    world.processor.drain()
    (ticket,) = _interface_tickets(world)
    assert ticket.started_at == onset


def test_rate_rule_validation() -> None:
    bundled = load_rules()
    (rule,) = [rule for rule in bundled.rules if rule.name == "interface_in_errors"]
    assert rule.rate
    assert rule.threshold == 1
    assert rule.for_ == timedelta(minutes=10)
    with pytest.raises(RulesError) as caught:
        parse_rules(
            "rules:\n  - {name: errs, problem_class: device_health, metric: cpu_percent,"
            ' rate: true, op: ">", threshold: 1}\n'
        )
    assert "rule 0 (errs), field 'rate'" in str(caught.value)
    with pytest.raises(RulesError) as caught:
        parse_rules(
            "rules:\n  - {name: errs, problem_class: device_health, metric: if_in_errors_total,"
            ' rate: maybe, op: ">", threshold: 1}\n'
        )
    assert "field 'rate'" in str(caught.value)


def test_rates_skip_resets_and_stale_points() -> None:
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    points = [
        (t0 + timedelta(seconds=10), "x", 150.0),  # 5/s, given out of order
        (t0, "x", 100.0),
        (t0 + timedelta(seconds=20), "x", 2.0),  # reset: no rate
    ]
    outcome = evaluate_rates([], points, lambda rate: rate > 1, None)
    assert outcome.pending_since is None
    assert outcome.cleared_at == t0 + timedelta(seconds=20)
    assert outcome.history == [[(t0 + timedelta(seconds=20)).timestamp(), "x", 2.0, None]]
    later = evaluate_rates(
        outcome.history,
        [
            (t0 + timedelta(seconds=15), "x", 999.0),  # older than the stored point: ignored
            (t0 + timedelta(seconds=30), "x", 32.0),
        ],
        lambda rate: rate > 1,
        None,
    )
    assert later.pending_since == t0 + timedelta(seconds=30)
    assert later.breaking == {"x": 3.0}
