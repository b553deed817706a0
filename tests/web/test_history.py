"""A device's 24 h / 7 d charts on the commune page, read from the journal (both stores)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from tests.alerts.support import HEARTBEAT, pc
from tests.web.support import Province, login
from web.history import device_history

DAY = 24 * 3600


def _feed_a_day(province: Province) -> str:
    """A day later, the reporting commune's PC sends a day of reports (one per heartbeat): its
    disk at 50 % for twelve hours, then 90 %. Through the journal and the processor."""
    world = province.world
    device_id = f"{province.other}-PC-0"
    agent = next(a for a in world.agents if a.devices[0]["device_id"] == device_id)
    world.clock.advance(DAY)
    start = world.clock.now() - timedelta(days=1)
    for minute in range(1, 1441):
        agent.devices = [pc(device_id, disk=50.0 if minute < 720 else 90.0)]
        world.measure(agent, start + timedelta(seconds=minute * HEARTBEAT))
        if minute % 500 == 0:  # a sender's batches stay under the 1,000-report limit
            world.deliver(agent)
    world.deliver(agent)
    world.processor.drain()
    return device_id


def test_history_is_sampled_evenly_from_the_journal(province: Province) -> None:
    world = province.world
    # Just enrolled: its four reports are all read (no sampling), in the last half hour's bar.
    fresh = device_history(
        world.engine, province.other, f"{province.other}-PC-0", world.clock.now(), "24h"
    )
    assert fresh is not None
    assert (fresh.stride, fresh.reports) == (1, 4)
    assert fresh.series["disk"] == [None] * 47 + [97.0]
    device_id = _feed_a_day(province)
    day = device_history(world.engine, province.other, device_id, world.clock.now(), "24h")
    assert day is not None
    assert day.stride == 5  # 1,440 reports for 48 bars of at most 6: every 5th read
    assert day.reports == 1440 // 5
    disk = day.series["disk"]
    assert len(disk) == 48
    assert disk[:24] == [50.0] * 24
    assert disk[24:] == [90.0] * 24
    assert day.series["cpu"] == [10.0] * 48
    assert day.series["probe_ms"] == [400.0] * 48  # both systems' total probe time, 0.4 s
    assert day.series["rtt_ms"] == [None] * 48  # a PC does not ping the link
    week = device_history(world.engine, province.other, device_id, world.clock.now(), "7d")
    assert week is not None
    assert week.stride == 2  # 1,444 reports for 84 bars of at most 6
    assert week.reports == 720 + 2  # and the enrolment day's seq 2 and 4
    assert week.series["disk"][:71] == [None] * 71
    assert week.series["disk"][71] == 97.0  # the first reports, a day and 4 minutes ago
    assert week.series["disk"][72:78] == [50.0] * 6
    assert week.series["disk"][78:] == [90.0] * 6
    # A device the commune does not have: nothing (the page falls back to its first PC).
    assert device_history(world.engine, province.cut, device_id, world.clock.now(), "24h") is None


async def test_commune_page_draws_the_device_charts(
    http: httpx.AsyncClient, province: Province
) -> None:
    device_id = _feed_a_day(province)
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
