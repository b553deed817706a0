"""The commune page (web/routes/commune.py) over HTTP on both stores: devices, the reporting
chart, a device's 24 h / 7 d charts, and which device is chosen."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from alerts import windows
from alerts.windows import Scope, WindowSpec
from tests.alerts.support import HEARTBEAT, goodbye
from tests.web.support import Province, feed_a_day, login
from web.commune import CommuneDetail, Device
from web.i18n import local_time
from web.routes.commune import chosen_device


async def test_commune_page_shows_devices_and_the_reporting_chart(
    http: httpx.AsyncClient, province: Province
) -> None:
    await login(http, "dost")
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


async def test_commune_page_draws_the_device_charts(
    http: httpx.AsyncClient, province: Province
) -> None:
    device_id = feed_a_day(province)
    await login(http, "dost")
    page = await http.get(f"/web/communes/{province.other}", params={"device": device_id})
    assert page.status_code == 200
    section = page.text.split('id="history"')[1].split("</section>")[0]
    assert f"Diễn biến thiết bị: {device_id}" in section
    assert re.findall(r'data-metric="(\w+)"', section) == ["cpu", "memory", "disk", "probe_ms"]
    assert "Ổ đĩa (0–100 %)" in section
    assert "Thời gian truy cập phần mềm (ms) (0–500 ms)" in section
    assert section.count("<svg") == 4
    disk = section.split('data-metric="disk"')[1].split("</svg>")[0]
    assert disk.count(": 50 %</title>") == 24
    assert disk.count(": 90 %</title>") == 24
    assert "lưu 7 ngày" in section
    week = await http.get(
        f"/web/communes/{province.other}", params={"device": device_id, "span": "7d"}
    )
    week_disk = week.text.split('data-metric="disk"')[1].split("</svg>")[0]
    assert week_disk.count("chưa có dữ liệu</title>") == 0  # gaps carry no point
    assert week_disk.count("<circle") == 1 + 12  # enrolment day, then the fed day
    await http.get("/web/lang/en", params={"next": "/web/overview"})
    english = await http.get(f"/web/communes/{province.other}", params={"device": device_id})
    assert "Device history" in english.text
    assert "Disk (0–100 %)" in english.text
    assert "Central software time (ms) (0–500 ms)" in english.text
    assert "kept 7 days" in english.text
    # The cut commune's first PC is chosen by default; its reports never arrived: no chart.
    cut = await http.get(f"/web/communes/{province.cut}", params={"device": "nope"})
    cut_section = cut.text.split('id="history"')[1].split("</section>")[0]
    assert f"Device history: {province.cut}-PC-0" in cut_section
    assert "No report of this device in this period." in cut_section


def test_the_asked_device_else_the_first_pc_else_the_first_device_is_charted() -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)

    def detail(*devices: tuple[str, str]) -> CommuneDetail:
        found = [Device(device_id, kind, "agent", at) for device_id, kind in devices]
        return CommuneDetail("00001", "Xã", "xa", found, [], {}, [])

    mixed = detail(("RT", "router"), ("PC-1", "pc"), ("PR", "printer"))
    assert chosen_device(mixed, "PR") == "PR"
    assert chosen_device(mixed, "not-here") == "PC-1"
    assert chosen_device(mixed, None) == "PC-1"
    assert chosen_device(detail(("RT", "router")), None) == "RT"
    assert chosen_device(detail(), "x") is None


async def test_a_pc_switched_off_cleanly_shows_since_when_not_silent(
    http: httpx.AsyncClient, province: Province
) -> None:
    world = province.world
    agent = next(a for a in world.agents if a.devices[0]["device_id"] == f"{province.other}-PC-0")
    agent.devices = [goodbye(agent.devices[0])]
    world.tick()
    said = world.clock.now()
    for _ in range(5):  # its silence: switched off, not a fault
        world.tick(silent=frozenset({agent.identity.agent_id}))
    await login(http, "dost")
    page = await http.get(f"/web/communes/{province.other}")
    row = re.search(rf'data-device="{province.other}-PC-0".*?</tr>', page.text, re.S)
    assert row is not None
    assert "Đã tắt" in row.group(0)
    assert (
        f"Đã tắt máy lúc {local_time(said - timedelta(seconds=HEARTBEAT))} (tắt máy)"
        in row.group(0)
    )
    assert "Mất tín hiệu" not in row.group(0)


async def test_pages_carry_a_banner_while_a_maintenance_window_is_in_force(
    http: httpx.AsyncClient, province: Province
) -> None:
    now = province.world.clock.now()
    with province.world.engine.begin() as conn:
        windows.create(
            conn,
            WindowSpec(
                reason="Nâng cấp phần mềm một cửa",
                starts_at=now - timedelta(minutes=5),
                ends_at=now + timedelta(hours=1),
                scope=Scope(systems=("motcua",)),
            ),
            "dost",
            now,
        )
    await login(http, "dost")
    page = await http.get("/web/overview")
    assert "Đang bảo trì (#1, đến" in page.text
    assert "Nâng cấp phần mềm một cửa" in page.text
