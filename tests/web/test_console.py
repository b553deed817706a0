"""The console over HTTP (both stores): roles, vendor scope, CSRF, rate limit, audit, XLSX plan."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from collector.settings import Settings
from tests.alerts.support import ISP_TOKEN
from tests.web.support import BASE, PASSWORD, Province, console_app
from tests.web.support import csrf_token as _csrf
from tests.web.support import login as _login
from web import accounts
from web.schema import audit


async def test_overview_shows_the_cut_commune_down_for_dost(
    http: httpx.AsyncClient, province: Province
) -> None:
    assert (await http.get("/web/overview")).status_code == 303  # not logged in: to the login
    answer = await _login(http, "dost")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/overview"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    page = await http.get("/web/overview")
    assert page.status_code == 200
    row = re.search(rf'<tr data-commune="{province.cut}" data-status="(\w+)"', page.text)
    assert row is not None
    assert row.group(1) == "down"
    other = re.search(rf'<tr data-commune="{province.other}" data-status="(\w+)"', page.text)
    assert other is not None
    assert other.group(1) == "degraded"  # the full disk and the printer jam are active problems
    assert "Mất kết nối" in page.text
    # Procedure-software latency: the reporting commune's PC measured 0.4 s for both systems;
    # the cut commune has nothing recent.
    row_html = page.text.split(f'<tr data-commune="{province.other}"')[1].split("</tr>")[0]
    assert '<td class="num opt">400</td>' in row_html
    assert "(trung vị các xã): 400 ms" in page.text
    down_only = await http.get("/web/overview", params={"status": "down"})
    assert down_only.text.count("<tr data-commune=") == 1
    english = await http.get("/web/lang/en", params={"next": "/web/overview"})
    assert english.headers["location"] == "/web/overview"
    page = await http.get("/web/overview")
    assert "Status of the communes" in page.text
    assert "Mất kết nối" not in page.text
    commune = await http.get(f"/web/communes/{province.other}")
    assert commune.status_code == 200
    assert f"{province.other}-PR" in commune.text
    assert "<meter" in commune.text
    assert (await http.get("/web/communes/99999")).status_code == 404
    # The reporting chart: 24 hourly bars; the cut commune's current hour is red, the other's
    # green, the hours before the agents enrolled grey (no data).
    assert commune.text.count("<rect") == 24
    assert 'fill="#1e7d3a"' in commune.text
    cut_page = await http.get(f"/web/communes/{province.cut}")
    assert 'fill="#b3261e"' in cut_page.text
    assert 'fill="#1e7d3a"' not in cut_page.text
    assert cut_page.text.count('fill="#c3cad3"') == 23
    # The link in ticket e-mails ({public_url}/tickets/N) opens the console's ticket page.
    link = await http.get("/tickets/7")
    assert link.headers["location"] == "/web/tickets/7"


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


async def test_forms_without_the_csrf_token_are_refused(
    http: httpx.AsyncClient, province: Province
) -> None:
    ticket = province.ticket_ids("isp")[0]
    form = await http.get("/web/login")
    no_token = await http.post("/web/login", data={"username": "admin", "password": PASSWORD})
    assert no_token.status_code == 403
    assert "set-cookie" not in no_token.headers
    assert form.status_code == 200
    await _login(http, "admin")
    for data in ({}, {"csrf_token": "forged"}):
        answer = await http.post(f"/web/tickets/{ticket}/ack", data=data)
        assert answer.status_code == 403
    assert province.ticket_state(ticket) == "open"


async def test_login_is_rate_limited_per_account(
    http: httpx.AsyncClient, province: Province
) -> None:
    for _ in range(accounts.MAX_FAILURES_PER_USER):
        assert (await _login(http, "admin", "wrong-password")).status_code == 401
    # Even the right password is refused until the window has passed.
    assert (await _login(http, "admin")).status_code == 429
    province.world.clock.advance(accounts.FAILURE_WINDOW.total_seconds() + 1)
    assert (await _login(http, "admin")).status_code == 303


async def test_finance_plans_a_budget_and_downloads_the_xlsx(
    http: httpx.AsyncClient, province: Province
) -> None:
    await _login(http, "finance")
    fleet = await http.get("/web/fleet")
    assert fleet.status_code == 200
    # The test agents' devices carry no register serials or tags: "seen, not in the register".
    unrecorded = re.search(r'id="rec-unrecorded">(\d+)<', fleet.text)
    assert unrecorded is not None
    assert int(unrecorded.group(1)) > 0
    searched = await http.get("/web/fleet", params={"q": f"{province.other}-MT"})
    tags = set(re.findall(r'<td class="tag"><a href="[^"]+">([^<]+)</a></td>', searched.text))
    assert tags
    assert all(tag.startswith(f"{province.other}-MT") for tag in tags)
    # A PC's page: its wear per fiscal year and its priority terms.
    tag = sorted(tags)[0]
    asset = await http.get(f"/web/fleet/assets/{tag}")
    assert asset.status_code == 200
    assert 'id="wear"' in asset.text
    assert "Hao mòn theo năm tài chính" in asset.text
    assert 'id="asset-score"' in asset.text
    assert "Thông tư 23/2023/TT-BTC" in asset.text or "Thông tư 141/2025/TT-BTC" in asset.text
    assert (await http.get("/web/fleet/assets/KHONG-CO")).status_code == 404
    assert (await http.get("/web/overview")).status_code == 403
    token = _csrf(fleet.text)
    bad = await http.post("/web/fleet/plan", data={"csrf_token": token, "budget": "nhiều"})
    assert bad.status_code == 422
    assert "budget" in bad.text
    plan = await http.post("/web/fleet/plan", data={"csrf_token": token, "budget": "300.000.000"})
    assert plan.status_code == 200
    count = re.search(r'id="plan-count">(\d+)<', plan.text)
    assert count is not None
    lines = int(count.group(1))
    assert lines > 0
    xlsx = await http.post(
        "/web/fleet/plan.xlsx", data={"csrf_token": token, "budget": "300000000"}
    )
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    first = book.worksheets[0]
    rows = [row for row in first.iter_rows(values_only=True) if any(v is not None for v in row)]
    assert len(rows) - 1 == lines  # a header row, then one row per planned replacement


async def test_users_are_created_with_checked_fields(engine: Engine, province: Province) -> None:
    now = province.world.clock.now()
    with pytest.raises(accounts.AccountError, match="password"):
        accounts.create_user(engine, "short", "123", accounts.Role.DOST, now)
    with pytest.raises(accounts.AccountError, match="owner"):
        accounts.create_user(engine, "vendor2", PASSWORD, accounts.Role.VENDOR, now)
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_user(engine, "admin", PASSWORD, accounts.Role.ADMIN, now)
    stored = accounts.list_users(engine)
    assert {u.username for u in stored} == {"admin", "dost", "isp-tech", "printer-tech", "finance"}


async def test_admin_creates_and_disables_users_in_the_page(
    http: httpx.AsyncClient, settings: Settings, province: Province, engine: Engine
) -> None:
    transport = httpx.ASGITransport(app=console_app(settings, province))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as dost:
        await _login(dost, "dost")
        assert (await dost.get("/web/users")).status_code == 403
        await _login(http, "admin")
        token = _csrf((await http.get("/web/users")).text)
        form = {
            "csrf_token": token,
            "username": "isp-2",
            "display_name": "Kỹ thuật viên nhà mạng 2",
            "role": "vendor",
            "owner": "no-such-owner",
            "password": PASSWORD,
        }
        refused = await http.post("/web/users", data=form)
        assert refused.status_code == 422
        assert "owner" in refused.text
        created = await http.post("/web/users", data={**form, "owner": "isp"})
        assert created.status_code == 303
        assert any(u.username == "isp-2" and u.owner == "isp" for u in accounts.list_users(engine))
        assert (await http.post("/web/users", data={**form, "owner": "isp"})).status_code == 422
        # Disabling ends the user's open session at once.
        assert (await dost.get("/web/overview")).status_code == 200
        disabled = await http.post("/web/users/dost/disable", data={"csrf_token": token})
        assert disabled.status_code == 303
        assert (await dost.get("/web/overview")).status_code == 303
        assert (await _login(dost, "dost")).status_code == 401
        no_csrf = await http.post("/web/users/finance/disable", data={})
        assert no_csrf.status_code == 403
        self_disable = await http.post("/web/users/admin/disable", data={"csrf_token": token})
        assert self_disable.status_code == 409
    with engine.connect() as conn:
        lines = [(r.actor, r.action, r.target) for r in conn.execute(select(audit))]
    assert ("admin", "user_created", "isp-2") in lines
    assert ("admin", "user_disabled", "dost") in lines
