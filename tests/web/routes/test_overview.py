"""The overview page (web/routes/overview.py) over HTTP on both stores: statuses, filters,
language, availability columns, and a collector fed by the fleet simulator."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from alerts.schema import incidents
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from tests.fakes import FakeClock
from tests.sim.harness import fibre_cut, simulated
from tests.web.support import Province
from tests.web.support import login as _login
from web import accounts
from web.accounts import Role

SIM_PASSWORD = "mật khẩu thử nghiệm"


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


def _cells(html: str, code: str) -> dict[str, str]:
    row = html.split(f'<tr data-commune="{code}"')[1].split("</tr>")[0]
    return dict(re.findall(r'data-window="(\w+)">([^<]*)</td>', row))


async def test_overview_and_commune_page_show_the_cut_communes_availability(
    http: httpx.AsyncClient, province: Province
) -> None:
    """Fed through the real ingest path: the cut commune's outage (raised by the alert engine
    from its agents' silence) lowers its figures; the reporting commune is at 100 %."""
    world = province.world
    now = world.clock.now()
    with world.engine.connect() as conn:
        started = conn.execute(
            select(incidents.c.started_at).where(
                incidents.c.problem_class == "site_outage",
                incidents.c.commune_code == province.cut,
                incidents.c.active.is_(True),
            )
        ).scalar_one()
    enrolled = now - timedelta(seconds=4 * 60)  # the world enrolled, then ticked four times
    share = 1 - (now - started) / (now - enrolled)
    assert 0 < share < 1
    expected = f"{int(share * 1000 + 1e-9) / 10:.1f} %".replace(".", ",")
    await _login(http, "dost")
    page = await http.get("/web/overview")
    assert "Tỉ lệ hoạt động" in page.text
    assert "30 ngày" in page.text
    assert _cells(page.text, province.cut) == {"today": expected, "7d": expected, "30d": expected}
    assert _cells(page.text, province.other) == {
        "today": "100,0 %",
        "7d": "100,0 %",
        "30d": "100,0 %",
    }
    assert set(_cells(page.text, province.world.communes[5]).values()) == {"-"}  # no agent
    worst = await http.get("/web/overview", params={"sort": "availability"})
    assert worst.text.index(f'data-commune="{province.cut}"') < worst.text.index(
        f'data-commune="{province.other}"'
    )
    commune = await http.get(f"/web/communes/{province.cut}")
    assert f'<dd data-window="30d">{expected}</dd>' in commune.text
    # The link comes back: the backlog is delivered, the outage ends, the figures stop falling.
    world.tick()
    world.tick()
    await http.get("/web/lang/en", params={"next": "/web/overview"})
    page = await http.get("/web/overview")
    assert "Availability" in page.text
    assert "30 days" in page.text
    after = _cells(page.text, province.cut)
    assert after["30d"] != "-"
    assert "," not in after["30d"]  # English decimal point
    assert float(after["30d"].rstrip(" %")) > share * 100


async def test_unknown_filters_and_sorts_fall_back_to_all_communes_worst_first(
    http: httpx.AsyncClient, province: Province
) -> None:
    await _login(http, "dost")
    page = await http.get("/web/overview", params={"status": "nonsense", "sort": "nonsense"})
    assert page.status_code == 200
    statuses = re.findall(r'<tr data-commune="\d+" data-status="(\w+)"', page.text)
    assert statuses[0] == "down"
    assert len(statuses) > 100  # every commune of the province
    searched = await http.get("/web/overview", params={"q": province.cut})
    assert re.findall(r'<tr data-commune="(\d+)"', searched.text) == [province.cut]


async def test_overview_shows_the_commune_the_scenario_took_down(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """The overview over a collector fed by the fleet simulator (real agent spools, senders,
    ingest)."""
    clock = FakeClock()
    fleet, resolved = fibre_cut("1h", clock)
    cut, other = fleet.communes[1].code, fleet.communes[0].code
    settings = settings.model_copy(update={"heartbeat_seconds": 60.0})
    async with simulated(
        settings, engine, fleet, tmp_path, faults=resolved.faults, clock=clock
    ) as sim:
        sim.driver.open_spools()
        await sim.run(10)  # minutes 0..9: the link is cut at minute 5
    accounts.create_user(engine, "dost", SIM_PASSWORD, Role.DOST, clock.now())
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="https://collector") as http:
        login = await _login(http, "dost", SIM_PASSWORD)
        assert login.status_code == 303
        page = await http.get("/web/overview")
    statuses = dict(re.findall(r'<tr data-commune="(\d+)" data-status="(\w+)"', page.text))
    assert statuses[cut] == "down"
    assert statuses[other] in ("up", "degraded", "slow")  # reporting, whatever its own faults
    monitored = {code for code, status in statuses.items() if status != "unmonitored"}
    assert monitored == {cut, other}
