"""User administration and the audit log (web/routes/accounts.py) over HTTP on both stores."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, select

from collector.settings import Settings
from tests.web.support import BASE, PASSWORD, Province, console_app
from tests.web.support import csrf_token as _csrf
from tests.web.support import login as _login
from web import accounts
from web.schema import audit


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


async def test_a_bad_role_or_an_unknown_user_is_refused_and_the_audit_log_is_for_admins(
    http: httpx.AsyncClient, province: Province
) -> None:
    await _login(http, "admin")
    token = _csrf((await http.get("/web/users")).text)
    bad_role = await http.post(
        "/web/users",
        data={"csrf_token": token, "username": "x-1", "role": "root", "password": PASSWORD},
    )
    assert bad_role.status_code == 422
    assert "role" in bad_role.text
    missing = await http.post("/web/users/no-such-user/disable", data={"csrf_token": token})
    assert missing.status_code == 404
    log = await http.get("/web/audit")
    assert log.status_code == 200
    assert "login" in log.text
    await _login(http, "finance")
    assert (await http.get("/web/audit")).status_code == 403


async def test_admin_creates_commune_staff_with_their_communes(
    http: httpx.AsyncClient, province: Province, engine: Engine
) -> None:
    await _login(http, "admin")
    token = _csrf((await http.get("/web/users")).text)
    form = {
        "csrf_token": token,
        "username": "can-bo-xa",
        "role": "commune",
        "owner": "",
        "communes": "",
        "password": PASSWORD,
    }
    refused = await http.post("/web/users", data=form)
    assert refused.status_code == 422
    assert "communes" in refused.text
    unknown = await http.post("/web/users", data={**form, "communes": "99999"})
    assert unknown.status_code == 422
    assert "99999" in unknown.text
    assert not [u for u in accounts.list_users(engine) if u.username == "can-bo-xa"]
    both = f"{province.cut}, {province.other}"
    created = await http.post("/web/users", data={**form, "communes": both})
    assert created.status_code == 303
    (user,) = [u for u in accounts.list_users(engine) if u.username == "can-bo-xa"]
    assert user.commune_scope == frozenset({province.cut, province.other})
    page = await http.get("/web/users")
    assert ", ".join(sorted((province.cut, province.other))) in page.text
