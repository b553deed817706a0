"""The alert engine as an orchestrator (alerts/engine.py), on both stores: a batch is read once
and every detector consumes it in the processor's transaction, so a failed batch leaves no
decision behind; the sweep runs the detectors and then the ticket timers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from alerts.engine import AlertEngine
from alerts.routing import load_routing
from alerts.rules import load_rules
from alerts.schema import incidents, tickets
from collector.processor import StoredReport
from tests.alerts.support import expand, pc, printer, router
from tests.collector.support import first_commune
from tests.fakes import FakeClock


def _batch(commune: str, clock: FakeClock, devices: list[dict[str, Any]]) -> list[StoredReport]:
    return [StoredReport(1, "ag_site", commune, 1, clock.now(), {"devices": expand(devices)})]


def _classes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(tickets.c.problem_class)).scalars())


def test_every_detector_consumes_the_same_batch(engine: Engine) -> None:
    clock = FakeClock()
    alerting = AlertEngine(engine, load_rules(), load_routing(), clock, heartbeat_seconds=60)
    commune = first_commune(engine)
    devices = [pc("PC-1", disk=97.0), router("RT"), printer("PR", jammed=True)]
    with engine.begin() as conn:
        alerting.consume(conn, _batch(commune, clock, devices))
    assert alerting.evaluated_reports == 1
    # One batch, two detectors' tickets: the disk rule's and the printer's jam.
    assert _classes(engine) == ["device_health", "printer_fault"]
    assert {type(d).__name__ for d in alerting.detectors} >= {
        "SilenceDetector",
        "LinkDetector",
        "ThresholdDetector",
        "SoftwareDetector",
    }


def test_a_failed_batch_leaves_no_decision_behind(engine: Engine) -> None:
    clock = FakeClock()
    alerting = AlertEngine(engine, load_rules(), load_routing(), clock, heartbeat_seconds=60)
    commune = first_commune(engine)

    def crash_after_consume() -> None:
        with engine.begin() as conn:
            alerting.consume(conn, _batch(commune, clock, [pc("PC-1", disk=97.0)]))
            raise RuntimeError("the processor died mid-batch")

    with pytest.raises(RuntimeError, match="died mid-batch"):
        crash_after_consume()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(incidents)).scalar_one() == 0
    assert _classes(engine) == []


def test_the_sweep_resolves_what_the_hold_down_let_go(engine: Engine) -> None:
    clock = FakeClock()
    rules = load_rules()
    alerting = AlertEngine(engine, rules, load_routing(), clock, heartbeat_seconds=60)
    commune = first_commune(engine)
    with engine.begin() as conn:
        alerting.consume(conn, _batch(commune, clock, [pc("PC-1", disk=97.0)]))
    clock.advance(60)
    with engine.begin() as conn:
        alerting.consume(conn, _batch(commune, clock, [pc("PC-1", disk=50.0)]))

    def state() -> str:
        with engine.connect() as conn:
            value: str = conn.execute(select(tickets.c.state)).scalar_one()
        return value

    alerting.sweep()
    assert state() != "resolved"  # recovered, but still within the hold-down
    clock.advance((rules.tickets.hold_down + timedelta(minutes=1)).total_seconds())
    alerting.sweep()
    assert state() == "resolved"
