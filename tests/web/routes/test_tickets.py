"""Tickets in the console (web/routes/tickets.py) over HTTP on both stores: vendor scope, the
actions and their audit lines, read-only roles, the comment's bounds."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.alerts.support import ISP_TOKEN
from tests.web.support import Province
from tests.web.support import csrf_token as _csrf
from tests.web.support import login as _login
from web.errors import BadForm
from web.routes.tickets import MAX_COMMENT, comment_text
from web.schema import audit


async def test_vendor_sees_only_its_tickets_in_pages_and_api(
    http: httpx.AsyncClient, province: Province
) -> None:
    isp = province.ticket_ids("isp")
    printer = province.ticket_ids("printer-vendor")
    assert isp
    assert printer
    await _login(http, "isp-tech")
    listing = await http.get("/web/tickets")
    shown = {int(x) for x in re.findall(r'data-ticket="(\d+)"', listing.text)}
    assert shown == set(isp)
    assert (await http.get(f"/web/tickets/{isp[0]}")).status_code == 200
    page = await http.get(f"/web/tickets/{isp[0]}")
    token = _csrf(page.text)
    assert (await http.get(f"/web/tickets/{printer[0]}")).status_code == 404
    refused = await http.post(f"/web/tickets/{printer[0]}/ack", data={"csrf_token": token})
    assert refused.status_code == 404
    assert province.ticket_state(printer[0]) == "open"
    assert (await http.get("/web/overview")).status_code == 403
    assert (await http.get("/web/fleet")).status_code == 403
    # The same contract's token on the JSON API: the other owner's ticket does not exist.
    bearer = {"Authorization": f"Bearer {ISP_TOKEN}"}
    api = await http.get("/api/v1/tickets", headers=bearer)
    assert {t["id"] for t in api.json()} == set(isp)
    assert (await http.get(f"/api/v1/tickets/{printer[0]}", headers=bearer)).status_code == 404


async def test_acknowledge_comment_resolve_change_the_store_and_the_audit_log(
    http: httpx.AsyncClient, province: Province, engine: Engine
) -> None:
    ticket = province.ticket_ids("isp")[0]
    await _login(http, "isp-tech")
    token = _csrf((await http.get(f"/web/tickets/{ticket}")).text)
    answer = await http.post(f"/web/tickets/{ticket}/ack", data={"csrf_token": token})
    assert answer.status_code == 303
    assert province.ticket_state(ticket) == "acknowledged"
    again = await http.post(f"/web/tickets/{ticket}/ack", data={"csrf_token": token})
    assert again.status_code == 409
    empty = await http.post(f"/web/tickets/{ticket}/comment", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "text" in empty.text
    note = "Đã gọi kỹ thuật viên đến kiểm tra cáp quang"
    await http.post(f"/web/tickets/{ticket}/comment", data={"csrf_token": token, "text": note})
    await http.post(f"/web/tickets/{ticket}/resolve", data={"csrf_token": token, "text": "ok"})
    assert province.ticket_state(ticket) == "resolved"
    page = await http.get(f"/web/tickets/{ticket}")
    assert note in page.text
    with engine.connect() as conn:
        actions = [
            row.action for row in conn.execute(select(audit).where(audit.c.actor == "isp-tech"))
        ]
    assert actions == ["login", "ticket_ack", "ticket_comment", "ticket_resolve"]


async def test_dost_reads_tickets_but_cannot_act(
    http: httpx.AsyncClient, province: Province
) -> None:
    ticket = province.ticket_ids("isp")[0]
    await _login(http, "dost")
    page = await http.get(f"/web/tickets/{ticket}")
    assert page.status_code == 200
    assert 'id="ack"' not in page.text
    token = _csrf(page.text)  # the logout form's token: a valid one
    answer = await http.post(f"/web/tickets/{ticket}/ack", data={"csrf_token": token})
    assert answer.status_code == 403
    assert province.ticket_state(ticket) == "open"


async def test_ticket_links_in_emails_open_the_console_page(http: httpx.AsyncClient) -> None:
    # The link in ticket e-mails ({public_url}/tickets/N) opens the console's ticket page.
    link = await http.get("/tickets/7")
    assert link.headers["location"] == "/web/tickets/7"
    assert (await http.get("/")).headers["location"] == "/web/"


def test_a_comment_is_trimmed_and_bounded() -> None:
    assert comment_text({"text": "  đã xử lý  "}) == "đã xử lý"
    assert len(comment_text({"text": "x" * MAX_COMMENT})) == MAX_COMMENT
    for form in ({}, {"text": "   "}, {"text": "x" * (MAX_COMMENT + 1)}):
        with pytest.raises(BadForm) as caught:
            comment_text(form)
        assert caught.value.field == "text"
