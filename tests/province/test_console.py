"""The console built from a province's service (province/console.py): the silence limit is the
alert rules' own, alerting's desk, routing and calendar are the console's, and the root and a
ticket's public link lead into the console."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from collector.settings import Settings
from province.console import DEFAULT_SILENCE_FACTOR, console_for, web_routers
from province.service import ProvinceService, build_service
from tests.fakes import FakeClock

RULES = Path(__file__).parents[2] / "alerts" / "rules.yaml"


def _service(settings: Settings, engine: Engine, **alerts: object) -> ProvinceService:
    settings = settings.model_copy(
        update={
            "run_processor": False,
            "heartbeat_seconds": 60.0,
            "alerts": settings.alerts.model_copy(update=alerts),
        }
    )
    return build_service(settings, clock=FakeClock(), engine=engine)


def test_the_silence_limit_is_the_alert_rules_factor(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    bundled = RULES.read_text(encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    changed = bundled.replace("heartbeat_factor: 1.5", "heartbeat_factor: 3.0")
    assert changed != bundled
    rules.write_text(changed, encoding="utf-8")
    service = _service(settings, engine, rules_file=rules)
    console = console_for(service)
    assert service.alerting is not None
    assert console.silence == timedelta(seconds=180)
    assert console.heartbeat == timedelta(seconds=60)
    assert console.desk is service.alerting.engine.desk
    assert console.routing is service.alerting.routing
    assert console.calendar is service.alerting.engine.calendar
    assert console.engine is service.engine
    assert console.clock is service.clock
    assert console.journal_days == service.settings.journal_retention_days
    assert console.active_guards() == dict(
        service.alerting.engine.guards.active if service.alerting.engine.guards else {}
    )


def test_without_alerting_the_console_keeps_the_default_factor(
    settings: Settings, engine: Engine
) -> None:
    service = _service(settings, engine, enabled=False)
    console = console_for(service)
    assert service.alerting is None
    assert console.silence == timedelta(seconds=60 * DEFAULT_SILENCE_FACTOR)
    assert (console.desk, console.routing) == (None, None)
    assert console.owners == {}
    assert console.active_guards() == {}


async def test_the_root_and_a_tickets_public_link_lead_into_the_console(
    settings: Settings, engine: Engine
) -> None:
    app = FastAPI()
    for router in web_routers(_service(settings, engine)):
        app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        root = await client.get("/")
        assert (root.status_code, root.headers["location"]) == (303, "/web/")
        link = await client.get("/tickets/42")
        assert (link.status_code, link.headers["location"]) == (303, "/web/tickets/42")
        assert (await client.get("/tickets/not-a-number")).status_code == 422
        # The console itself is mounted under /web.
        login = await client.get("/web/login")
        assert login.status_code == 200
