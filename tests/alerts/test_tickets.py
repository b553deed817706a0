"""Tickets as people see and change them (alerts/tickets.py): listing by filter and scope, one
ticket with its history, the transitions a person may make and those refused, and the counts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from alerts import tickets
from alerts.errors import TicketNotFound, TicketTransition
from alerts.intake import ReportIn, report_problem
from alerts.schema import incidents
from collector.schema import audit_log
from tests.alerts.support import World, pc, printer


def _world(engine: Engine) -> tuple[World, Any, Any]:
    """Two tickets: a full disk in one commune, a jammed printer in another."""
    world = World(engine)
    first, second = world.communes[0], world.communes[1]
    world.enrol(first, [pc(f"{first}-PC-0", disk=97.0)])
    world.enrol(second, [printer(f"{second}-PR", jammed=True)])
    world.tick()
    disk, jam = sorted(world.tickets(), key=lambda t: t.commune_code != first)
    assert (disk.problem_class, jam.problem_class) == ("device_health", "printer_fault")
    return world, disk, jam


def _audit(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target)
            .where(audit_log.c.action.like("ticket_%"))
            .order_by(audit_log.c.id)
        )
        return [tuple(row) for row in rows]


def test_tickets_are_listed_newest_first_by_filter_scope_and_communes(engine: Engine) -> None:
    _, disk, jam = _world(engine)
    every = tickets.list_tickets(engine, tickets.TicketFilter())
    assert [t["id"] for t in every] == sorted([disk.id, jam.id], reverse=True)
    by_class = tickets.TicketFilter(problem_class="printer_fault")
    assert [t["id"] for t in tickets.list_tickets(engine, by_class)] == [jam.id]
    by_commune = tickets.TicketFilter(commune_code=disk.commune_code)
    assert [t["id"] for t in tickets.list_tickets(engine, by_commune)] == [disk.id]
    staff = tickets.TicketFilter(communes=frozenset({jam.commune_code, "99999"}))
    assert [t["id"] for t in tickets.list_tickets(engine, staff)] == [jam.id]
    assert tickets.list_tickets(engine, tickets.TicketFilter(state="resolved")) == []
    assert tickets.list_tickets(engine, tickets.TicketFilter(system="motcua")) == []
    assert len(tickets.list_tickets(engine, tickets.TicketFilter(limit=1))) == 1
    assert tickets.list_tickets(engine, tickets.TicketFilter(offset=2)) == []
    owned = tickets.list_tickets(engine, tickets.TicketFilter(), scope=disk.owner)
    assert disk.id in [t["id"] for t in owned]
    assert all(t["owner"] == disk.owner for t in owned)
    assert tickets.list_tickets(engine, tickets.TicketFilter(), scope="nobody") == []
    # The view hides the incident's internal evidence keys.
    assert not any(key.startswith("_") for t in every for key in t["evidence"])


@pytest.mark.parametrize("ticket_id", [0, -1, 2**63, 10**30])
def test_an_id_out_of_range_is_simply_not_found(engine: Engine, ticket_id: int) -> None:
    with pytest.raises(TicketNotFound):
        tickets.get_ticket(engine, ticket_id)


def test_a_ticket_outside_the_scope_or_communes_is_not_found(engine: Engine) -> None:
    _, disk, _ = _world(engine)
    assert tickets.get_ticket(engine, disk.id, scope=disk.owner)["id"] == disk.id
    with pytest.raises(TicketNotFound):
        tickets.get_ticket(engine, disk.id, scope="nobody")
    with pytest.raises(TicketNotFound):
        tickets.get_ticket(engine, disk.id, communes=["99999"])
    with pytest.raises(TicketNotFound):
        tickets.get_ticket(engine, disk.id + 100)


def test_a_ticket_is_acknowledged_commented_resolved_and_reopened_once_each(
    engine: Engine,
) -> None:
    world, disk, jam = _world(engine)
    desk, clock = world.alerts.desk, world.clock
    seen = tickets.acknowledge(engine, desk, disk.id, "kythuat", clock.now(), scope=None)
    assert seen["state"] == "acknowledged"
    assert seen["acknowledged_at"] == clock.now()
    with pytest.raises(TicketTransition):
        tickets.acknowledge(engine, desk, disk.id, "kythuat", clock.now(), scope=None)
    noted = tickets.comment(engine, desk, disk.id, "kythuat", "đang xử lý", clock.now(), scope=None)
    assert noted["history"][-1]["note"] == "đang xử lý"
    with pytest.raises(TicketTransition):
        tickets.reopen(engine, desk, disk.id, "kythuat", "x", clock.now(), scope=None)
    clock.advance(60)
    done = tickets.resolve(engine, desk, disk.id, "kythuat", "đã dọn ổ", clock.now(), scope=None)
    assert (done["state"], done["resolved_at"]) == ("resolved", clock.now())
    with pytest.raises(TicketTransition):
        tickets.resolve(engine, desk, disk.id, "kythuat", "again", clock.now(), scope=None)
    again = tickets.reopen(engine, desk, disk.id, "canbo", "vẫn đầy", clock.now(), scope=None)
    assert (again["state"], again["reopen_count"]) == ("open", 1)
    # Another owner's technician cannot touch it.
    with pytest.raises(TicketNotFound):
        tickets.acknowledge(engine, desk, disk.id, "isp", clock.now(), scope="nobody")
    assert _audit(engine) == [
        ("kythuat", "ticket_ack", f"ticket:{disk.id}"),
        ("kythuat", "ticket_comment", f"ticket:{disk.id}"),
        ("kythuat", "ticket_resolve", f"ticket:{disk.id}"),
        ("canbo", "ticket_reopen", f"ticket:{disk.id}"),
    ]
    assert tickets.get_ticket(engine, jam.id)["state"] == "open"


def test_counts_are_per_state_with_breaches(engine: Engine) -> None:
    world, disk, _ = _world(engine)
    assert tickets.counts(engine) == {
        "open": 2,
        "acknowledged": 0,
        "resolved": 0,
        "response_breached": 0,
        "resolution_breached": 0,
    }
    tickets.resolve(engine, world.alerts.desk, disk.id, "kt", "ok", world.clock.now(), scope=None)
    counted = tickets.counts(engine)
    assert (counted["open"], counted["resolved"]) == (1, 1)


def test_a_reopened_report_makes_its_incident_live_again(engine: Engine) -> None:
    world = World(engine)
    report = ReportIn.model_validate(
        {
            "commune_code": world.communes[2],
            "category": "cannot_sign",
            "description": "Không ký được",
            "reporter_name": "Trần Văn Nam",
            "reporter_phone": "0912 345 678",
        }
    )
    desk, clock = world.alerts.desk, world.clock
    made = report_problem(engine, desk, report, "dost", "api", clock.now())
    tickets.resolve(engine, desk, made.ticket_id, "kt", "đã cài lại", clock.now(), scope=None)
    ticket = tickets.get_ticket(engine, made.ticket_id)
    with engine.connect() as conn:
        active = conn.execute(
            select(incidents.c.active).where(incidents.c.id == ticket["incident_id"])
        ).scalar_one()
    assert not active
    tickets.reopen(engine, desk, made.ticket_id, "dost", "vẫn lỗi", clock.now(), scope=None)
    with engine.connect() as conn:
        row = conn.execute(
            select(incidents.c.active, incidents.c.ended_at).where(
                incidents.c.id == ticket["incident_id"]
            )
        ).one()
    assert (bool(row.active), row.ended_at) == (True, None)
    assert tickets.get_ticket(engine, made.ticket_id)["category"] == "cannot_sign"
