"""Availability per commune (today / 7 / 30 days) from site outages: arithmetic and pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from alerts.schema import incidents
from tests.web.support import Province, login
from web.availability import availability_of, window_starts

# 10:00 in Hà Nội on 10 March 2026: 'today' began at 17:00 UTC the day before.
NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_today_starts_at_midnight_vietnam_time() -> None:
    starts = window_starts(NOW)
    assert starts["today"] == datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
    assert starts["7d"] == NOW - timedelta(days=7)
    assert starts["30d"] == NOW - timedelta(days=30)


def test_outages_count_in_the_windows_they_overlap() -> None:
    midnight = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
    outages = [
        (NOW - timedelta(days=20), NOW - timedelta(days=20) + 6 * H),  # only in 30 days
        (midnight - H, midnight + H),  # across local midnight: one hour of it is today
        (midnight - H, midnight),  # the same outage reopened: must not count twice
    ]
    figures = availability_of(outages, NOW - timedelta(days=40), NOW)
    assert figures.by_window() == pytest.approx(
        {"today": 1 - 1 / 10, "7d": 1 - 2 / (7 * 24), "30d": 1 - 8 / (30 * 24)}
    )


def test_the_window_starts_when_the_commune_was_first_monitored() -> None:
    enrolled = NOW - 4 * H
    figures = availability_of([(NOW - 2 * H, NOW)], enrolled, NOW)  # still down, half the time
    assert figures.by_window() == {"today": 0.5, "7d": 0.5, "30d": 0.5}
    assert availability_of([], None, NOW).by_window() == {"today": None, "7d": None, "30d": None}
    assert availability_of([], NOW, NOW).today is None  # enrolled this instant: nothing yet
    assert availability_of([], NOW - H, NOW).month == 1.0


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
    await login(http, "dost")
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
