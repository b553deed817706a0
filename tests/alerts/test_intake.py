"""Problems people report (alerts/intake.py) on both stores: a ticket routed by its category's
class, joining the open ticket that covers it, refusals naming the field with nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from alerts import tickets
from alerts.categories import bundled_categories
from alerts.desk import Symptom
from alerts.intake import ReportIn, ReportInvalid, commune_devices, report_problem
from alerts.runbooks import bundled_runbooks
from alerts.schema import incidents, outbox, reports, ticket_history
from alerts.schema import tickets as ticket_rows
from collector.schema import audit_log
from tests.alerts.support import World, pc, printer

PHONE = "0912 345 678"


def _report(commune: str, category: str, **more: Any) -> ReportIn:
    fields = {
        "commune_code": commune,
        "category": category,
        "description": "Bấm in nhưng máy không chạy",
        "reporter_name": "Nguyễn Thị Hoa",
        "reporter_phone": PHONE,
        **more,
    }
    return ReportIn.model_validate(fields)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (ticket_rows, incidents, reports, ticket_history, outbox, audit_log)
        }


def test_a_report_opens_a_ticket_routed_by_its_category(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[3]
    category = bundled_categories().get("cannot_print")
    assert category is not None
    intake = report_problem(
        engine,
        world.alerts.desk,
        _report(commune, "cannot_print", counter="Quầy 3"),
        "dost",
        "api",
        world.clock.now(),
    )
    assert not intake.attached
    assert intake.message_vi == f"Đã tạo phiếu #{intake.ticket_id}."
    ticket = tickets.get_ticket(engine, intake.ticket_id)
    expected = world.alerts.routing.route(category.problem_class, commune, None)
    assert (ticket["problem_class"], ticket["owner"]) == (category.problem_class, expected.owner_id)
    assert ticket["category"] == "cannot_print"
    assert ticket["state"] == "open"
    assert ticket["title_vi"].startswith(f"Phản ánh: {category.name_vi}")
    assert "Quầy 3" in ticket["body_vi"]
    assert "0912345678" in ticket["body_vi"]  # the phone as stored, to call back
    assert [r["reporter_name"] for r in ticket["reports"]] == ["Nguyễn Thị Hoa"]
    assert ticket["reports"][0]["attached"] is False
    runbook = bundled_runbooks().categories["cannot_print"]
    assert ticket["runbook"]["staff"]["vi"] == list(runbook.staff.vi)
    with engine.connect() as conn:
        lines = conn.execute(select(audit_log).where(audit_log.c.action == "ticket_reported"))
        (line,) = lines.all()
        bodies = list(conn.execute(select(outbox.c.body)).scalars())
    assert (line.actor, line.target) == ("dost", f"ticket:{intake.ticket_id}")
    # The owner is told, with the category's first checks in both languages.
    assert bodies
    for body in bodies:
        assert runbook.staff.vi[0] in body
        assert runbook.technician.en[0] in body


def test_a_report_joins_the_open_ticket_of_its_commune_and_class(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[1]
    world.enrol(commune, [printer(f"{commune}-PR", jammed=True)])
    world.tick()
    (jam,) = world.tickets()
    assert jam.problem_class == "printer_fault"
    desk, now = world.alerts.desk, world.clock.now()
    before = _counts(engine)
    joined = report_problem(engine, desk, _report(commune, "cannot_print"), "dost", "api", now)
    assert joined.attached
    assert joined.ticket_id == jam.id
    assert joined.message_vi == (
        f"Đã có phiếu #{jam.id} cho sự cố này; phản ánh đã được ghi vào phiếu."
    )
    after = _counts(engine)
    assert after["tickets"] == before["tickets"]
    assert after["alert_incidents"] == before["alert_incidents"]
    assert after["ticket_reports"] == before["ticket_reports"] + 1
    # The owner hears of it: a history line and its message.
    assert after["notification_outbox"] > before["notification_outbox"]
    ticket = tickets.get_ticket(engine, jam.id)
    assert ticket["history"][-1]["action"] == "reported"
    assert "Nguyễn Thị Hoa" in ticket["history"][-1]["note"]
    assert ticket["reports"][0]["attached"] is True
    # Another category opens its own ticket; a second one of it joins that one.
    sign = report_problem(engine, desk, _report(commune, "cannot_sign"), "dost", "api", now)
    assert not sign.attached
    again = report_problem(engine, desk, _report(commune, "cannot_sign"), "hotline", "api", now)
    assert (again.attached, again.ticket_id) == (True, sign.ticket_id)
    counted = tickets.get_ticket(engine, sign.ticket_id)
    assert len(counted["reports"]) == 2
    assert "Số lần phản ánh: 2" in counted["body_vi"]
    # Another commune's same problem is its own ticket.
    elsewhere = report_problem(
        engine, desk, _report(world.communes[2], "cannot_sign"), "dost", "api", now
    )
    assert not elsewhere.attached


def test_a_report_joins_a_province_wide_outage_that_lists_its_commune(engine: Engine) -> None:
    world = World(engine)
    listed, other = world.communes[0], world.communes[5]
    desk, now = world.alerts.desk, world.clock.now()
    with engine.begin() as conn:
        incident_id = desk.raise_(
            conn,
            Symptom(
                key="software_outage:motcua",
                problem_class="software_outage",
                commune_code=None,
                device_id=None,
                device_kind=None,
                signal="probe_failed",
                started_at=now,
                evidence={"communes": [listed, world.communes[1], world.communes[2]]},
                system="motcua",
                system_vi="Hệ thống một cửa",
                system_en="Procedure system",
            ),
            now,
        )
        outage = desk.ticket_of(conn, incident_id)
    report = _report(listed, "software_error", message="Lỗi kết nối máy chủ (502)")
    joined = report_problem(engine, desk, report, "dost", "api", now)
    assert (joined.attached, joined.ticket_id) == (True, outage.id)
    # A commune the outage does not list gets its own ticket.
    report = _report(other, "software_error", message="Lỗi kết nối máy chủ (502)")
    assert not report_problem(engine, desk, report, "dost", "api", now).attached


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reporter_phone": "12"}, "reporter_phone"),
        ({"reporter_phone": "09x2345678"}, "reporter_phone"),
        ({"category": "printer_on_fire"}, "category"),
        ({"commune_code": "1234"}, "commune_code"),
        ({"commune_code": "١٢٣٤٥"}, "commune_code"),
        ({"description": "  \x00 "}, "description"),
        ({"description": "ok \ud800 no"}, "description"),
        ({"reporter_name": ""}, "reporter_name"),
        ({"actor": "someone else"}, "actor"),
    ],
)
def test_a_bad_field_is_refused_by_name(fields: dict[str, Any], field: str) -> None:
    good = {
        "commune_code": "13318",
        "category": "cannot_print",
        "description": "Máy in không in",
        "reporter_name": "Nguyễn Thị Hoa",
        "reporter_phone": PHONE,
    }
    ReportIn.model_validate(good)
    with pytest.raises(ValidationError) as caught:
        ReportIn.model_validate({**good, **fields})
    assert caught.value.errors()[0]["loc"][0] == field


def test_refusals_after_validation_name_the_field_and_write_nothing(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0")])
    world.tick()
    desk, now = world.alerts.desk, world.clock.now()
    before = _counts(engine)
    cases = [
        (_report("99999", "cannot_print"), None, "commune_code"),
        (_report(commune, "cannot_print", device_id="no-such-printer"), None, "device_id"),
        (_report(commune, "software_error"), None, "message"),
        (_report(commune, "cannot_print"), {world.communes[1]}, "commune_code"),
    ]
    for report, allowed, field in cases:
        with pytest.raises(ReportInvalid) as caught:
            report_problem(engine, desk, report, "dost", "api", now, communes_allowed=allowed)
        assert caught.value.field == field
        assert field in str(caught.value)
    assert _counts(engine) == before
    # The commune's real PC is a device a report may name; probes of central systems are not.
    devices = dict(commune_devices(engine, commune))
    assert devices == {f"{commune}-PC-0": "pc"}
    named = _report(commune, "other", device_id=f"{commune}-PC-0")
    intake = report_problem(engine, desk, named, "dost", "api", now)
    with engine.connect() as conn:
        kind = conn.execute(
            select(incidents.c.device_kind)
            .join(ticket_rows, ticket_rows.c.incident_id == incidents.c.id)
            .where(ticket_rows.c.id == intake.ticket_id)
        ).scalar_one()
    assert kind == "pc"


def test_a_reopened_report_stays_open_through_the_hold_down(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    desk = world.alerts.desk
    intake = report_problem(
        engine, desk, _report(commune, "slow"), "dost", "api", world.clock.now()
    )
    tickets.resolve(engine, desk, intake.ticket_id, "it", "đã khởi động lại", world.clock.now(),
                    scope=None)  # fmt: skip
    world.clock.advance(600)
    tickets.reopen(
        engine, desk, intake.ticket_id, "dost", "vẫn chậm", world.clock.now(), scope=None
    )
    hold = world.alerts.rules.tickets.hold_down.total_seconds()
    for _ in range(3):
        world.clock.advance(hold)
        world.alerts.sweep()
    assert tickets.get_ticket(engine, intake.ticket_id)["state"] == "open"
    # A detector's ticket resolved by a person is not made live again by a reopen.
    with engine.connect() as conn:
        evidence = conn.execute(
            select(incidents.c.evidence, incidents.c.active)
            .join(ticket_rows, ticket_rows.c.incident_id == incidents.c.id)
            .where(ticket_rows.c.id == intake.ticket_id)
        ).one()
    assert evidence.active is True
    assert json.loads(evidence.evidence) == {}
