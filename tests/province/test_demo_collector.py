"""The demo's collector process serves on the fleet's simulated clock and sweeps on request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from collector.communes import BUNDLED_UNITS
from collector.schema import journal
from province.demo import _listen
from province.demo_collector import CollectorChild, CollectorRequest, CollectorStopped
from sim import Driver, SimClock, generate_fleet
from sim.history import processed
from sim.shared_clock import ClockFile

# A Friday, 15:30 in Vietnam: the counters are open.
START = datetime(2026, 3, 6, 8, 30, tzinfo=UTC)
# Fast enough that the collector reads the barrier itself, whenever it reads after a hold.
SATURATING_SPEED = 1e9


async def _tickets(url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get(
            "/api/v1/tickets", headers={"Authorization": "Bearer admin-secret"}
        )
    assert answer.status_code == 200, answer.text
    tickets: list[dict[str, Any]] = answer.json()
    return tickets


async def test_the_collector_process_stamps_reports_and_sweeps_on_simulated_time(
    store_url: str, engine: Engine, tmp_path: Path
) -> None:
    file = ClockFile(tmp_path / "clock.bin", create=True)
    clock = SimClock(START, SATURATING_SPEED, held=True, on_change=file.publish)
    sock = _listen("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    request = CollectorRequest(
        settings={
            "data_dir": str(tmp_path),
            "database_url": store_url,
            "admin_token": "admin-secret",
            "public_url": url,
            "alerts_sweep_seconds": 24 * 3600.0,
        },
        clock_file=str(file.path),
        socket_fd=sock.fileno(),
        maildir=str(tmp_path / "mailbox"),
        mail_port=1,
        log_file=str(tmp_path / "collector.log"),
    )
    collector = await asyncio.to_thread(CollectorChild.start, request, sock)
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=1)
    driver = Driver(fleet, base_url=url, spool_dir=tmp_path / "spools", clock=clock)
    try:
        driver.enrol(engine)
        driver.open_spools()
        step = await driver.step(START)
        assert step.reports > 0
        assert step.sent == step.reports
        await asyncio.wait_for(processed(engine, lambda done, total: None), timeout=60)
        # Nothing has been judged yet: the collector's clock is still held at the step.
        assert (await _tickets(url)) == []
        # Ten simulated minutes later, as far as the held clock may go.
        clock.hold(START + timedelta(minutes=10))
        await asyncio.to_thread(collector.sweep)
        tickets = await _tickets(url)
    finally:
        await driver.aclose()
        code = await asyncio.to_thread(collector.stop)
        sock.close()
    assert code == 0
    with engine.connect() as conn:
        stamps = conn.execute(select(journal.c.measured_at, journal.c.received_at)).all()
        reports = conn.execute(select(func.count()).select_from(journal)).scalar_one()
    assert reports == step.reports
    # The collector read the simulated clock (2026-03-06), not the real one.
    assert {row.received_at for row in stamps} == {START}
    # Ten simulated minutes of silence in opening hours: the sweep the parent asked for judged
    # them on the shared clock and cut the commune, at that simulated time.
    assert [(t["problem_class"], t["commune_code"]) for t in tickets] == [
        ("site_outage", fleet.communes[0].code)
    ]
    assert datetime.fromisoformat(tickets[0]["opened_at"]) == START + timedelta(minutes=10)


def test_a_collector_process_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    file = ClockFile(tmp_path / "clock.bin", create=True)
    SimClock(START, 1.0, held=True, on_change=file.publish)
    sock = _listen("127.0.0.1", 0)
    request = CollectorRequest(
        settings={"data_dir": str(tmp_path), "no_such_setting": 1},
        clock_file=str(file.path),
        socket_fd=sock.fileno(),
        maildir=str(tmp_path / "mailbox"),
        mail_port=1,
        log_file=str(tmp_path / "collector.log"),
    )
    try:
        with pytest.raises(CollectorStopped, match=r"answered '' instead of 'ready' and exited"):
            CollectorChild.start(request, sock)
    finally:
        sock.close()
