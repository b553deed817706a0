"""The overview over a collector fed by the fleet simulator (real agent spools, senders, ingest)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector.api import create_app
from collector.service import build_service
from collector.settings import Settings
from tests.collector.sim.harness import fibre_cut, simulated
from tests.fakes import FakeClock
from web import accounts
from web.accounts import Role

PASSWORD = "mật khẩu thử nghiệm"


async def test_overview_shows_the_commune_the_scenario_took_down(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    clock = FakeClock()
    fleet, resolved = fibre_cut("1h", clock)
    cut, other = fleet.communes[1].code, fleet.communes[0].code
    settings = settings.model_copy(update={"heartbeat_seconds": 60.0})
    async with simulated(
        settings, engine, fleet, tmp_path, faults=resolved.faults, clock=clock
    ) as sim:
        sim.driver.open_spools()
        await sim.run(10)  # minutes 0..9: the link is cut at minute 5
    accounts.create_user(engine, "dost", PASSWORD, Role.DOST, clock.now())
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="https://collector") as http:
        form = await http.get("/web/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        login = await http.post(
            "/web/login",
            data={"csrf_token": token.group(1), "username": "dost", "password": PASSWORD},
        )
        assert login.status_code == 303
        page = await http.get("/web/overview")
    statuses = dict(re.findall(r'<tr data-commune="(\d+)" data-status="(\w+)"', page.text))
    assert statuses[cut] == "down"
    assert statuses[other] in ("up", "degraded", "slow")  # reporting, whatever its own faults
    monitored = {code for code, status in statuses.items() if status != "unmonitored"}
    assert monitored == {cut, other}
