"""The maintenance windows' API routes (alerts/windows_api.py): admin only, checked and audited."""

from __future__ import annotations

from datetime import datetime

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.vntime import VN_TZ
from collector.schema import audit_log
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from tests.fakes import FakeClock


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)


async def test_windows_through_the_api_are_audited_and_checked(
    settings: Settings, engine: Engine
) -> None:
    clock = FakeClock(vn(14, 9, 0))
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    transport = httpx.ASGITransport(app=create_app(service))
    admin = {"Authorization": "Bearer admin-secret"}
    body = {
        "reason": "Nâng cấp đường truyền tỉnh",
        "starts_at": "2026-12-19T22:00:00+07:00",
        "ends_at": "2026-12-20T02:00:00+07:00",
        "scope": {"communes": ["13285"], "problem_classes": ["site_outage"]},
    }
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.post("/api/v1/maintenance-windows", json=body)).status_code == 401
        bad = await http.post(
            "/api/v1/maintenance-windows",
            json={**body, "ends_at": body["starts_at"]},
            headers=admin,
        )
        assert bad.status_code == 422
        made = await http.post("/api/v1/maintenance-windows", json=body, headers=admin)
        assert made.status_code == 201, made.text
        window = made.json()
        assert window["author"] == "admin-token"
        listed = (await http.get("/api/v1/maintenance-windows", headers=admin)).json()
        assert [w["id"] for w in listed] == [window["id"]]
        cancelled = await http.post(
            f"/api/v1/maintenance-windows/{window['id']}/cancel", headers=admin
        )
        assert cancelled.status_code == 200
        again = await http.post(f"/api/v1/maintenance-windows/{window['id']}/cancel", headers=admin)
        assert again.status_code == 409
        missing = await http.post("/api/v1/maintenance-windows/999/cancel", headers=admin)
        assert missing.status_code == 404
        assert (await http.get("/api/v1/maintenance-windows", headers=admin)).json() == []
    with engine.connect() as conn:
        actions = list(conn.execute(select(audit_log.c.action, audit_log.c.actor)).all())
    assert actions == [
        ("maintenance_created", "admin-token"),
        ("maintenance_cancelled", "admin-token"),
    ]
