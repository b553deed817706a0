"""The desk the detectors call (alerts/desk.py), on both stores: a root cause is one incident
and one ticket; an active one only gains evidence and an earlier start; one that ended comes
back as the same ticket within the reopen window and as a new one after it; inside a
maintenance window it is recorded without a ticket."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from alerts import windows
from alerts.desk import Desk, Symptom
from alerts.routing import load_routing
from alerts.rules import load_rules
from alerts.schema import incidents, tickets
from alerts.windows import Scope, WindowSpec
from tests.collector.support import first_commune
from tests.fakes import FakeClock


def _symptom(commune: str, started_at: datetime, **evidence: Any) -> Symptom:
    return Symptom(
        key=f"device_health:{commune}:PC-1:disk_full",
        problem_class="device_health",
        commune_code=commune,
        device_id="PC-1",
        device_kind="pc",
        signal="disk_full",
        started_at=started_at,
        evidence=evidence,
    )


def _tickets(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(tickets).order_by(tickets.c.id)).all())


def test_an_active_root_cause_is_one_incident_that_gains_evidence(engine: Engine) -> None:
    clock = FakeClock()
    desk = Desk(load_rules(), load_routing(), "http://console")
    commune = first_commune(engine)
    start = clock.now()
    with engine.begin() as conn:
        first = desk.raise_(conn, _symptom(commune, start, disk=96.5, volumes=["C:"]), start)
        clock.advance(60)
        earlier = start - timedelta(minutes=5)  # a replayed report: it began before
        again = desk.raise_(conn, _symptom(commune, earlier, disk=97.0, volumes=["D:"]), start)
        row = conn.execute(select(incidents).where(incidents.c.id == first)).one()
    assert again == first
    assert row.started_at == earlier
    evidence = json.loads(row.evidence)
    assert (evidence["disk"], evidence["volumes"]) == (97.0, ["C:", "D:"])
    (ticket,) = _tickets(engine)
    assert (ticket.incident_id, ticket.owner, ticket.state) == (first, "commune-it", "open")


def test_an_ended_cause_reopens_its_ticket_within_the_reopen_window_only(
    engine: Engine,
) -> None:
    clock = FakeClock()
    rules = load_rules()
    desk = Desk(rules, load_routing(), "http://console")
    commune = first_commune(engine)
    with engine.begin() as conn:
        first = desk.raise_(conn, _symptom(commune, clock.now()), clock.now())
        desk.end(conn, first, clock.now(), clock.now())
        desk.lifecycle.resolve_held(conn, clock.now() + rules.tickets.hold_down * 2)
    clock.advance((rules.tickets.hold_down * 2).total_seconds())
    assert [t.state for t in _tickets(engine)] == ["resolved"]
    clock.advance(60)
    with engine.begin() as conn:
        back = desk.raise_(conn, _symptom(commune, clock.now()), clock.now())
    (ticket,) = _tickets(engine)
    assert (ticket.state, ticket.reopen_count) == ("open", 1)
    assert back == first
    with engine.begin() as conn:
        desk.end(conn, back, clock.now(), clock.now())
        desk.lifecycle.resolve_held(conn, clock.now() + rules.tickets.hold_down * 2)
    clock.advance((rules.tickets.reopen_window + rules.tickets.hold_down * 3).total_seconds())
    with engine.begin() as conn:
        later = desk.raise_(conn, _symptom(commune, clock.now()), clock.now())
    assert later != first
    assert [t.state for t in _tickets(engine)] == ["resolved", "open"]


def test_inside_a_maintenance_window_the_cause_is_recorded_without_a_ticket(
    engine: Engine,
) -> None:
    clock = FakeClock()
    desk = Desk(load_rules(), load_routing(), "http://console")
    commune = first_commune(engine)
    spec = WindowSpec(
        reason="Thay ổ đĩa máy trạm",
        starts_at=clock.now() - timedelta(minutes=10),
        ends_at=clock.now() + timedelta(hours=1),
        scope=Scope(communes=(commune,)),
    )
    with engine.begin() as conn:
        window = windows.create(conn, spec, "dost-test", clock.now())
        incident = desk.raise_(conn, _symptom(commune, clock.now()), clock.now())
        row = conn.execute(select(incidents).where(incidents.c.id == incident)).one()
    assert row.window_id == window.id
    assert "Thay ổ đĩa máy trạm" in json.loads(row.evidence)["_window"]
    assert _tickets(engine) == []
    # It outlasts the window: its ticket opens then, saying why.
    clock.advance(2 * 3600)
    with engine.begin() as conn:
        desk.release(conn, row, "outlasted the maintenance window", clock.now())
    (ticket,) = _tickets(engine)
    assert (ticket.incident_id, ticket.state) == (incident, "open")
