"""The report form and commune staff (web/routes/intake.py, web/routes/tickets.py) over HTTP on
both stores: scoped to their communes, refusals naming the field, nothing half-written."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import Engine, func, select

from alerts.schema import reports
from tests.web.support import PASSWORD, Province, csrf_token, login
from web import accounts
from web.accounts import Role

FORM = {
    "category": "cannot_print",
    "description": "Máy in báo kẹt giấy liên tục",
    "message": "",
    "device_id": "",
    "counter": "Quầy 1",
    "reporter_name": "Vũ Thị Lan",
    "reporter_phone": "0912.345.678",
}


def _staff(province: Province, engine: Engine, commune: str) -> None:
    now = province.world.clock.now()
    accounts.create_user(engine, "can-bo", PASSWORD, Role.COMMUNE, now, communes=[commune])


def _reports(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reports)).scalar_one())


async def test_commune_staff_report_for_their_commune_and_see_its_tickets_only(
    http: httpx.AsyncClient, province: Province, engine: Engine
) -> None:
    _staff(province, engine, province.other)
    landed = await login(http, "can-bo")
    assert landed.headers["location"] == "/web/tickets"
    form = await http.get("/web/report")
    assert form.status_code == 200
    # Only their commune is offered, with its devices.
    offered = set(re.findall(r'<option value="(\d{5})"', form.text))
    assert offered == {province.other}
    assert f"{province.other}-PR" in form.text
    token = csrf_token(form.text)
    # Another commune is refused by name; nothing is written.
    refused = await http.post(
        "/web/report", data={**FORM, "csrf_token": token, "commune_code": province.cut}
    )
    assert refused.status_code == 422
    assert 'data-field="commune_code"' in refused.text
    assert "Vũ Thị Lan" in refused.text  # what was typed is kept
    assert _reports(engine) == 0
    # The jammed printer already has a ticket: the report joins it.
    jam = province.ticket_ids("printer-vendor")[0]
    joined = await http.post(
        "/web/report",
        data={**FORM, "csrf_token": token, "commune_code": province.other,
              "device_id": f"{province.other}-PR"},
    )  # fmt: skip
    assert joined.status_code == 303
    done = await http.get(joined.headers["location"])
    assert f"Đã có phiếu #{jam}" in done.text
    # Their commune's tickets only, in the list and by URL.
    listing = await http.get("/web/tickets")
    shown = {int(x) for x in re.findall(r'data-ticket="(\d+)"', listing.text)}
    assert jam in shown
    assert province.ticket_ids("isp")[0] not in shown
    assert (await http.get(f"/web/tickets/{province.ticket_ids('isp')[0]}")).status_code == 404
    page = await http.get(f"/web/tickets/{jam}")
    assert "Vũ Thị Lan" in page.text
    assert 'id="runbook"' in page.text
    assert 'id="ack"' not in page.text
    # They add what they know, but do not acknowledge or resolve.
    note = await http.post(
        f"/web/tickets/{jam}/comment", data={"csrf_token": token, "text": "Đã tắt bật lại máy"}
    )
    assert note.status_code == 303
    ack = await http.post(f"/web/tickets/{jam}/ack", data={"csrf_token": token})
    assert ack.status_code == 403
    assert province.ticket_state(jam) == "open"


async def test_dost_reports_any_commune_and_bad_fields_are_named(
    http: httpx.AsyncClient, province: Province, engine: Engine
) -> None:
    await login(http, "dost")
    form = await http.get(f"/web/report?commune={province.cut}")
    assert form.status_code == 200
    token = csrf_token(form.text)
    for change, field in (
        ({"reporter_phone": "gọi tôi"}, "reporter_phone"),
        ({"category": ""}, "category"),
        ({"category": "software_error"}, "message"),
        ({"device_id": "not-a-device"}, "device_id"),
        ({"description": ""}, "description"),
    ):
        answer = await http.post(
            "/web/report",
            data={**FORM, "csrf_token": token, "commune_code": province.cut, **change},
        )
        assert answer.status_code == 422, (field, answer.status_code)
        assert f'data-field="{field}"' in answer.text
    assert _reports(engine) == 0
    # "Slow" in the commune whose line is cut joins the ISP's open site outage.
    sent = await http.post(
        "/web/report",
        data={**FORM, "csrf_token": token, "commune_code": province.cut, "category": "slow"},
    )
    assert sent.status_code == 303
    outage = province.ticket_ids("isp")[0]
    assert sent.headers["location"].endswith(f"ticket={outage}&joined=1")
    scan = await http.post(
        "/web/report",
        data={**FORM, "csrf_token": token, "commune_code": province.cut, "category": "cannot_scan"},
    )
    assert scan.status_code == 303
    assert "joined=0" in scan.headers["location"]
    done = await http.get(scan.headers["location"])
    assert "Đã tạo phiếu #" in done.text
    assert _reports(engine) == 2
    forged = await http.post(
        "/web/report", data={**FORM, "csrf_token": "forged", "commune_code": province.cut}
    )
    assert forged.status_code == 403
    assert _reports(engine) == 2


async def test_vendors_and_finance_do_not_report(
    http: httpx.AsyncClient, province: Province
) -> None:
    for user in ("isp-tech", "finance"):
        await login(http, user)
        assert (await http.get("/web/report")).status_code == 403
        http.cookies.clear()
    assert (await http.get("/web/report")).status_code == 303  # to the login form
