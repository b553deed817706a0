"""A ticket's title and body kept in step with its incident (alerts/ticket_text.py): rendered
from the incident's evidence, or from its reports for a ticket people reported."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, update

from alerts.categories import bundled_categories
from alerts.intake import ReportIn, report_problem
from alerts.routing import load_routing
from alerts.schema import incidents, tickets
from alerts.text import CLASS_TEXT
from alerts.ticket_text import TicketTexts
from collector.schema import communes
from tests.alerts.support import World, pc

PUBLIC = "https://cm.example"


def _ticket(engine: Engine, ticket_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one()


def _blank(engine: Engine, ticket_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(title_vi="x", title_en="x", body_vi="x", body_en="x")
        )


def test_commune_names_are_read_once_and_fall_back_to_the_code(engine: Engine) -> None:
    texts = TicketTexts(load_routing(), PUBLIC)
    with engine.connect() as conn:
        code, name = conn.execute(select(communes.c.code, communes.c.name).limit(1)).one()
    with engine.begin() as conn:
        assert texts.commune_name(conn, None) is None
        assert texts.commune_name(conn, code) == name
        assert texts.commune_name(conn, "99999") == "99999"
        conn.execute(update(communes).where(communes.c.code == code).values(name="Renamed"))
        assert texts.commune_name(conn, code) == name  # remembered: names never change


def test_a_found_tickets_text_is_rendered_from_its_incident(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (found,) = world.tickets()
    before = _ticket(engine, found.id)
    _blank(engine, found.id)
    texts = TicketTexts(world.alerts.routing, world.alerts.desk.texts.public_url)
    with engine.begin() as conn:
        name = texts.commune_name(conn, commune)
        texts.refresh(conn, found.incident_id)
    after = _ticket(engine, found.id)
    assert (after.title_vi, after.title_en) == (before.title_vi, before.title_en)
    assert after.body_vi == before.body_vi
    assert CLASS_TEXT[found.problem_class][0] in after.title_vi
    assert str(name) in after.body_vi
    assert after.body_en.endswith(f"/tickets/{found.id}")
    # Another public address: the link follows it.
    with engine.begin() as conn:
        TicketTexts(world.alerts.routing, PUBLIC).refresh(conn, found.incident_id)
    assert f"{PUBLIC}/tickets/{found.id}" in _ticket(engine, found.id).body_en


def test_a_reported_ticket_is_told_from_its_reports_until_its_category_is_gone(
    engine: Engine,
) -> None:
    world = World(engine)
    commune = world.communes[2]
    category = bundled_categories().get("cannot_sign")
    assert category is not None
    fields = {
        "commune_code": commune,
        "category": "cannot_sign",
        "description": "Không ký được hồ sơ",
        "reporter_name": "Trần Văn Nam",
        "reporter_phone": "0912 345 678",
    }
    desk, now = world.alerts.desk, world.clock.now()
    first = report_problem(engine, desk, ReportIn.model_validate(fields), "dost", "api", now)
    report_problem(engine, desk, ReportIn.model_validate(fields), "hotline", "api", now)
    ticket = _ticket(engine, first.ticket_id)
    _blank(engine, ticket.id)
    texts = TicketTexts(world.alerts.routing, PUBLIC)
    with engine.begin() as conn:
        texts.refresh(conn, ticket.incident_id)
    told = _ticket(engine, ticket.id)
    assert told.title_vi.startswith(f"Phản ánh: {category.name_vi}: ")
    assert "Mô tả: Không ký được hồ sơ" in told.body_vi
    assert "Số lần phản ánh: 2" in told.body_vi
    assert "người nhập: dost" in told.body_vi  # the first report's
    # A category no longer in categories.yaml: the ticket is shown as its class.
    with engine.begin() as conn:
        conn.execute(
            update(incidents).where(incidents.c.id == ticket.incident_id).values(category="gone")
        )
        texts.refresh(conn, ticket.incident_id)
    shown = _ticket(engine, ticket.id)
    assert not shown.title_vi.startswith("Phản ánh")
    assert CLASS_TEXT[ticket.problem_class][0] in shown.title_vi
