"""Ticket API: list/filter, ack, comment, resolve, reopen; vendor tokens see only their tickets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from alerts.routing import load_routing
from collector.schema import communes
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from tests.alerts.support import ISP_TOKEN, World, pc, printer, router, routing_with_isp_token
from web import accounts
from web.accounts import Role

ADMIN = {"Authorization": "Bearer admin-secret"}
ISP = {"Authorization": f"Bearer {ISP_TOKEN}"}


ISP_USER = "isp-tech"


@pytest.fixture
def routing_file(tmp_path: Path) -> Path:
    # The ISP's token belongs to its console user (token_user): it works while that user does.
    return routing_with_isp_token(tmp_path)


@pytest.fixture
async def client(
    settings: Settings, engine: Engine, routing_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A collector app over a store holding a site outage, a full disk and a printer jam."""
    world = World(engine, routing=load_routing(routing_file))
    accounts.create_user(
        engine, ISP_USER, "a-long-password", Role.VENDOR, world.clock.now(), owner="isp"
    )
    cut, other = world.communes[0], world.communes[1]
    for i in range(2):
        world.enrol(cut, [pc(f"{cut}-PC-{i}")])
    world.enrol(cut, [router(f"{cut}-RT")])
    world.enrol(other, [pc(f"{other}-PC-0", disk=97.0)])
    world.enrol(other, [router(f"{other}-RT"), printer(f"{other}-PR", jammed=True)])
    world.tick()
    for _ in range(3):
        world.tick(cut=frozenset({cut}))
    settings = settings.model_copy(update={"alerts_routing_file": routing_file})
    service = build_service(settings, clock=world.clock, engine=engine)
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as http:
        yield http


async def _json(response: Any) -> Any:
    answer = await response
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_ticket_lifecycle_through_the_api(client: httpx.AsyncClient) -> None:
    listed = await _json(client.get("/api/v1/tickets", headers=ADMIN))
    classes = sorted(t["problem_class"] for t in listed)
    assert classes == ["device_health", "printer_fault", "site_outage"]
    site = await _json(
        client.get("/api/v1/tickets", params={"problem_class": "site_outage"}, headers=ADMIN)
    )
    assert len(site) == 1
    url = f"/api/v1/tickets/{site[0]['id']}"
    # The actor is the token's principal: a body naming another is refused, not believed.
    spoofed = await client.post(f"{url}/ack", headers=ADMIN, json={"actor": "an"})
    assert spoofed.status_code == 422
    assert spoofed.json()["detail"][0]["loc"] == ["body", "actor"]
    acked = await _json(client.post(f"{url}/ack", headers=ADMIN, json={}))
    assert acked["state"] == "acknowledged"
    assert acked["history"][-1]["actor"] == "admin"
    assert (await client.post(f"{url}/ack", headers=ADMIN)).status_code == 409
    commented = await _json(
        client.post(
            f"{url}/comments",
            headers=ADMIN,
            json={"text": "Đã gọi nhà mạng, đang cử người kiểm tra cáp quang."},
        )
    )
    assert commented["history"][-1]["note"].startswith("Đã gọi nhà mạng")
    resolved = await _json(client.post(f"{url}/resolve", headers=ADMIN, json={}))
    assert resolved["state"] == "resolved"
    reopened = await _json(
        client.post(f"{url}/reopen", headers=ADMIN, json={"note": "vẫn mất mạng"})
    )
    assert (reopened["state"], reopened["reopen_count"]) == ("open", 1)
    assert [h["action"] for h in reopened["history"]] == [
        "opened",
        "acknowledged",
        "commented",
        "resolved",
        "reopened",
    ]


async def test_bad_requests_are_4xx_naming_the_field(client: httpx.AsyncClient) -> None:
    bad_state = await client.get("/api/v1/tickets", params={"state": "closed"}, headers=ADMIN)
    assert bad_state.status_code == 422
    assert "state" in bad_state.text
    bad_commune = await client.get("/api/v1/tickets", params={"commune_code": "x"}, headers=ADMIN)
    assert bad_commune.status_code == 422
    assert "commune_code" in bad_commune.text
    assert (await client.get("/api/v1/tickets/999999", headers=ADMIN)).status_code == 404
    # Beyond BIGINT: a 4xx naming the parameter, not a driver overflow (found by the fuzzer).
    huge = await client.post(f"/api/v1/tickets/{2**63}/ack", headers=ADMIN)
    assert huge.status_code == 422
    assert "ticket_id" in huge.text
    far = await client.get("/api/v1/tickets", params={"offset": 2**64}, headers=ADMIN)
    assert far.status_code == 422
    assert "offset" in far.text
    # Pages and the e-mail link pass ids straight to the desk: it says "no such ticket".
    link = await client.get(f"/tickets/{2**64}", follow_redirects=True)
    assert link.status_code < 500
    empty = await client.post("/api/v1/tickets/1/comments", headers=ADMIN, json={"text": ""})
    assert empty.status_code == 422
    assert "text" in empty.text
    assert (await client.get("/api/v1/tickets")).status_code == 401
    wrong = await client.get("/api/v1/tickets", headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401


async def test_vendor_token_sees_only_its_own_tickets(client: httpx.AsyncClient) -> None:
    everything = await _json(client.get("/api/v1/tickets", headers=ADMIN))
    mine = [t for t in everything if t["owner"] == "isp"]
    others = [t for t in everything if t["owner"] != "isp"]
    assert mine
    assert others
    seen = await _json(client.get("/api/v1/tickets", headers=ISP))
    assert [t["id"] for t in seen] == [t["id"] for t in mine]
    for params in (
        {"owner": "commune-it"},
        {"problem_class": "printer_fault"},
        {"commune_code": others[0]["commune_code"]},
        {"state": "open"},
    ):
        listed = await _json(client.get("/api/v1/tickets", params=params, headers=ISP))
        assert all(t["owner"] == "isp" for t in listed), params
    for ticket in others:
        url = f"/api/v1/tickets/{ticket['id']}"
        assert (await client.get(url, headers=ISP)).status_code == 404
        for action, body in (
            ("ack", {}),
            ("comments", {"text": "x"}),
            ("resolve", {}),
            ("reopen", {}),
        ):
            answer = await client.post(f"{url}/{action}", headers=ISP, json=body)
            assert answer.status_code == 404, action
    # Nothing an out-of-scope call tried changed those tickets.
    after = {t["id"]: t for t in await _json(client.get("/api/v1/tickets", headers=ADMIN))}
    for ticket in others:
        assert after[ticket["id"]]["state"] == ticket["state"]
    own = mine[0]["id"]
    acked = await _json(client.post(f"/api/v1/tickets/{own}/ack", headers=ISP))
    assert acked["state"] == "acknowledged"
    history = (await _json(client.get(f"/api/v1/tickets/{own}", headers=ISP)))["history"]
    assert history[-1]["actor"] == ISP_USER


async def test_ticket_counts_on_metrics(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text
    # Labels sort by name: commune_code comes first, then these.
    assert 'owner="isp",problem_class="site_outage",province="37",state="open"} 1.0' in text
    assert (
        'owner="printer-vendor",problem_class="printer_fault",province="37",state="open"} 1.0'
        in text
    )
    assert "cm_notifications_pending" in text


async def test_a_disabled_vendor_users_token_stops_at_once(
    client: httpx.AsyncClient, engine: Engine, routing_file: Path
) -> None:
    assert (await client.get("/api/v1/tickets", headers=ISP)).status_code == 200
    accounts.disable_user(engine, ISP_USER, "admin", datetime.now(UTC))
    refused = await client.get("/api/v1/tickets", headers=ISP)
    assert refused.status_code == 401
    assert "not an enabled vendor user" in refused.json()["detail"]
    # Before the body is read, too.
    posted = await client.post("/api/v1/tickets/1/comments", headers=ISP, json={"text": "x"})
    assert posted.status_code == 401


async def test_a_vendor_token_tied_to_no_user_is_refused(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    untied = routing_with_isp_token(tmp_path)
    text = untied.read_text(encoding="utf-8")
    untied.write_text(text.replace(f"    token_user: {ISP_USER}\n", ""), encoding="utf-8")
    assert "token_user" not in untied.read_text(encoding="utf-8")
    service = build_service(
        settings.model_copy(update={"alerts_routing_file": untied}), engine=engine
    )
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as http:
        answer = await http.get("/api/v1/tickets", headers=ISP)
    assert answer.status_code == 401
    assert "token_user" in answer.json()["detail"]


REPORT = {
    "category": "cannot_print",
    "description": "Máy in ở quầy 2 không nhận lệnh in",
    "reporter_name": "Lê Văn Tâm",
    "reporter_phone": "0987 654 321",
    "counter": "Quầy 2",
}


def _codes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars())


async def test_a_reported_problem_opens_or_joins_a_ticket(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    listed = await _json(client.get("/api/v1/tickets", headers=ADMIN))
    jam = next(t for t in listed if t["problem_class"] == "printer_fault")
    busy = {t["commune_code"] for t in listed}
    quiet = next(code for code in _codes(engine) if code not in busy)
    opened = await client.post(
        "/api/v1/tickets", headers=ADMIN, json={**REPORT, "commune_code": quiet}
    )
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["attached"] is False
    assert body["ticket"]["category"] == "cannot_print"
    assert body["ticket"]["reports"][0]["reporter_phone"] == "0987654321"
    reported = body["ticket"]["history"][1]
    assert (reported["action"], reported["actor"]) == ("reported", "admin")
    assert body["ticket"]["runbook"]["technician"]["vi"]
    assert body["message_vi"] == f"Đã tạo phiếu #{body['ticket']['id']}."
    # The jammed printer's commune already has its ticket: the report joins it.
    joined = await client.post(
        "/api/v1/tickets", headers=ADMIN, json={**REPORT, "commune_code": jam["commune_code"]}
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["attached"] is True
    assert joined.json()["ticket"]["id"] == jam["id"]
    assert f"#{jam['id']}" in joined.json()["message_vi"]
    after = await _json(client.get("/api/v1/tickets", headers=ADMIN))
    assert len(after) == len(listed) + 1


async def test_a_bad_report_is_a_422_naming_the_field_and_vendors_cannot_report(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    before = await _json(client.get("/api/v1/tickets", headers=ADMIN))
    commune = _codes(engine)[5]
    for change, field in (
        ({"reporter_phone": "call me"}, "reporter_phone"),
        ({"category": "nope"}, "category"),
        ({"actor": "someone"}, "actor"),
        ({"commune_code": "1331"}, "commune_code"),
    ):
        answer = await client.post(
            "/api/v1/tickets", headers=ADMIN, json={**REPORT, "commune_code": commune, **change}
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["body", field]
    for change, field in (
        ({"commune_code": "99999"}, "commune_code"),
        ({"category": "software_error"}, "message"),
        ({"device_id": "no-such-device"}, "device_id"),
    ):
        answer = await client.post(
            "/api/v1/tickets", headers=ADMIN, json={**REPORT, "commune_code": commune, **change}
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == field
    vendor = await client.post(
        "/api/v1/tickets", headers=ISP, json={**REPORT, "commune_code": commune}
    )
    assert vendor.status_code == 403
    assert "vendor" in vendor.json()["detail"]
    nobody = await client.post("/api/v1/tickets", json={**REPORT, "commune_code": commune})
    assert nobody.status_code == 401
    assert await _json(client.get("/api/v1/tickets", headers=ADMIN)) == before
