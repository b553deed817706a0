"""/metrics passes promtool's linter and carries the labels dashboards rely on."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, delete, select

from agent.wire import ReportBatch
from collector import agents
from collector import service as collector_service
from collector.agents import AgentIdentity
from collector.exposition import DeviceExposition, ExpositionProbe
from collector.ingest import store_batch
from collector.schema import communes, device_state
from collector.settings import Settings
from province.service import ProvinceService, build_service
from tests.collector.builders import batch, pc_device, snmp_device
from tests.fakes import FakeClock
from tests.services import require_binary


def _fill(engine: Engine, settings: Settings) -> bytes:
    return _filled(engine, settings)[0].exposition()


def _store(
    engine: Engine,
    ident: AgentIdentity,
    seq: int,
    measured_at: datetime,
    devices: list[dict[str, Any]],
    clock: FakeClock,
) -> None:
    body = ReportBatch.model_validate(
        batch(ident.agent_id, [seq], measured_at, devices=devices, sent_at=clock.now())
    )
    with engine.begin() as conn:
        store_batch(conn, ident, body, clock.now(), timedelta(0), 1000)


def _filled(engine: Engine, settings: Settings) -> tuple[ProvinceService, FakeClock, AgentIdentity]:
    """A collector whose one agent reported a PC, a printer and a router 30 s ago."""
    clock = FakeClock()
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    with engine.connect() as conn:
        commune = conn.execute(select(communes.c.code)).scalars().first()
    assert commune is not None
    token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1))
    ident = agents.authenticate(
        engine, agents.enrol(engine, token, "pc", "t", clock.now()).agent_token
    )
    devices = [pc_device("pc-1"), snmp_device("printer-1"), snmp_device("router-1", "router")]
    _store(engine, ident, 1, clock.now() - timedelta(seconds=30), devices, clock)
    service.processor.drain()
    return service, clock, ident


def test_promtool_check_metrics_reports_nothing(engine: Engine, settings: Settings) -> None:
    promtool = require_binary("promtool")
    exposition = _fill(engine, settings)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    assert result.stdout.decode().strip() == ""
    assert result.stderr.decode().strip() == ""


def test_every_device_series_carries_the_base_labels(engine: Engine, settings: Settings) -> None:
    text = _fill(engine, settings).decode()
    device_lines = [line for line in text.splitlines() if line.startswith("cm_device_")]
    assert len(device_lines) > 40
    for line in device_lines:
        for label in ("province=", "commune_code=", "device_id=", "kind="):
            assert label in line, line
    assert any(line.startswith("cm_device_if_in_octets_total{") for line in device_lines)


def _device_lines(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if line.startswith("cm_device_")]


def test_a_silent_agents_devices_leave_metrics_but_their_last_report_time_stays(
    engine: Engine, settings: Settings
) -> None:
    service, clock, _ident = _filled(engine, settings)
    stale = settings.device_stale_seconds
    clock.advance(stale - 1)
    assert any(
        line.startswith("cm_device_cpu_percent{") for line in _device_lines(service.exposition())
    )
    clock.advance(2)  # the agent's last batch is now more than device_stale_seconds old
    lines = _device_lines(service.exposition())
    assert lines, "the last-report times must stay"
    assert all(line.startswith("cm_device_last_report_timestamp_seconds{") for line in lines)
    assert {line.split('device_id="')[1].split('"')[0] for line in lines} == {
        "pc-1",
        "printer-1",
        "router-1",
    }


def test_metrics_without_devices_leaves_out_every_device_family(
    engine: Engine, settings: Settings
) -> None:
    service, _clock, _ident = _filled(engine, settings)
    full = service.exposition()
    lean = service.exposition(devices=False)
    assert _device_lines(full)
    assert _device_lines(lean) == []
    assert b"cm_ingest_requests_total" in lean
    assert b"cm_agent_up{" in lean


def _value(text: bytes, prefix: str) -> str:
    (line,) = (line for line in _device_lines(text) if line.startswith(prefix))
    return line.rsplit(" ", 1)[1]


def test_a_scrape_renders_again_only_the_devices_whose_state_changed(
    engine: Engine, settings: Settings
) -> None:
    service, clock, ident = _filled(engine, settings)
    first = service.exposition()
    assert service.devices.rendered_devices == 3
    assert _device_lines(service.exposition()) == _device_lines(first)
    assert service.devices.rendered_devices == 3, "nothing changed: nothing rendered again"
    assert service.devices.render() is service.devices.render(), "the same text is served again"
    _store(engine, ident, 2, clock.now(), [pc_device("pc-1", cpu=97.0)], clock)
    service.processor.drain()
    after = service.exposition()
    assert service.devices.rendered_devices == 4, "only pc-1 is rendered again"
    assert _value(first, "cm_device_cpu_percent{") == "12.5"
    assert _value(after, "cm_device_cpu_percent{") == "97.0"
    printer = 'cm_device_snmp_up{province="37",commune_code="13285",device_id="printer-1"'
    assert _value(after, printer) == "1.0"


def test_a_replayed_older_report_that_adds_a_sample_is_shown(
    engine: Engine, settings: Settings
) -> None:
    service, clock, ident = _filled(engine, settings)
    service.exposition()
    # An agent back from a cut replays a report measured before the state's newest one: the
    # device's measurement time stays, its samples gain a name.
    extra = {
        "device_id": "pc-1",
        "kind": "pc",
        "samples": [{"name": "printer_queue_jobs", "value": 4.0}],
    }
    _store(engine, ident, 2, clock.now() - timedelta(minutes=5), [extra], clock)
    service.processor.drain()
    assert _value(service.exposition(), "cm_device_printer_queue_jobs{") == "4.0"


def test_a_device_removed_from_the_store_leaves_the_exposition(
    engine: Engine, settings: Settings
) -> None:
    service, _clock, _ident = _filled(engine, settings)
    assert 'device_id="router-1"' in service.exposition().decode()
    with engine.begin() as conn:
        conn.execute(delete(device_state).where(device_state.c.device_id == "router-1"))
    text = service.exposition().decode()
    assert 'device_id="router-1"' not in text
    assert 'device_id="printer-1"' in text


async def test_the_service_renders_the_devices_as_it_starts_not_at_the_first_scrape(
    engine: Engine, settings: Settings
) -> None:
    service, _clock, _ident = _filled(engine, settings)
    async with service.running():
        # The start waited for the warm-up: the first scrape renders nothing again.
        assert service.devices.rendered_devices == 3
        assert _device_lines(service.exposition())
        assert service.devices.rendered_devices == 3


def test_a_scrape_past_its_budget_keeps_the_previous_lines_of_the_devices_left(
    engine: Engine, settings: Settings
) -> None:
    service, clock, ident = _filled(engine, settings)
    _store(
        engine, ident, 2, clock.now(), [pc_device(f"pc-{n}", cpu=90.0) for n in (1, 2, 3)], clock
    )
    service.processor.drain()
    # With no budget a scrape renders one chunk, here one device.
    devices = DeviceExposition(engine, service.catalogue, clock=clock, render_budget_seconds=0)
    devices.render()  # one chunk of the default size: every device
    devices.chunk = 1
    _store(
        engine, ident, 3, clock.now(), [pc_device(f"pc-{n}", cpu=50.0) for n in (1, 2, 3)], clock
    )
    service.processor.drain()
    scraped = [devices.render().decode() for _ in range(3)]
    assert devices.deferred_devices == 2 + 1, "two changed PCs left by the first, one by the next"
    assert [sorted(_cpu(text, n) for n in (1, 2, 3)) for text in scraped] == [
        ["50.0", "90.0", "90.0"],
        ["50.0", "50.0", "90.0"],
        ["50.0", "50.0", "50.0"],
    ], "a PC not rendered yet keeps its last lines"


def test_the_devices_a_scrape_leaves_for_later_are_exported(
    engine: Engine, settings: Settings
) -> None:
    service, clock, ident = _filled(engine, settings)
    text = service.exposition().decode()
    assert "cm_exposition_devices_behind 0.0" in text, "the service exports the lag"
    devices = DeviceExposition(engine, service.catalogue, clock=clock, render_budget_seconds=0)
    registry = CollectorRegistry()
    registry.register(ExpositionProbe(devices))
    devices.render()
    devices.chunk = 1
    _store(
        engine, ident, 2, clock.now(), [pc_device(f"pc-{n}", cpu=70.0) for n in (1, 2, 3)], clock
    )
    service.processor.drain()
    devices.render()
    assert registry.get_sample_value("cm_exposition_devices_behind") == 2
    assert registry.get_sample_value("cm_exposition_deferred_devices_total") == 2
    assert devices.refresh() == 2
    assert registry.get_sample_value("cm_exposition_devices_behind") == 0, "caught up"
    assert registry.get_sample_value("cm_exposition_deferred_devices_total") == 2, "a counter"


def test_a_refresh_renders_the_changes_so_that_the_next_scrape_has_none_left(
    engine: Engine, settings: Settings
) -> None:
    service, clock, ident = _filled(engine, settings)
    service.exposition()
    _store(engine, ident, 2, clock.now(), [pc_device("pc-1", cpu=66.0)], clock)
    service.processor.drain()
    assert service.devices.refresh() == 1
    assert service.devices.refresh() == 0, "nothing changed since"
    rendered = service.devices.rendered_devices
    assert _value(service.exposition(), "cm_device_cpu_percent{") == "66.0"
    assert service.devices.rendered_devices == rendered, "the scrape rendered nothing"


async def test_the_running_service_renders_changes_between_scrapes(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector_service, "DEVICE_REFRESH_SECONDS", 0.01)
    service, clock, ident = _filled(engine, settings)
    async with service.running():
        rendered = service.devices.rendered_devices
        _store(engine, ident, 2, clock.now(), [pc_device("pc-1", cpu=66.0)], clock)
        await asyncio.to_thread(service.processor.drain)
        await asyncio.sleep(0.2)  # twenty refresh periods
        assert service.devices.rendered_devices == rendered, "nobody scraped: no refresh"
        service.exposition()  # served from the warm-up's text; the refreshes start
        for _ in range(500):  # bounded: 5 s at most
            if service.devices.rendered_devices > rendered:
                break
            await asyncio.sleep(0.01)
        assert service.devices.rendered_devices == rendered + 1, "rendered with no scrape"
        for _ in range(500):  # bounded: the refresh writes the text after rendering
            if _value(service.exposition(), "cm_device_cpu_percent{") == "66.0":
                break
            await asyncio.sleep(0.01)
        assert _value(service.exposition(), "cm_device_cpu_percent{") == "66.0"
        assert service.devices.rendered_devices == rendered + 1, "no scrape rendered it"


async def test_while_the_service_runs_a_scrape_serves_the_text_the_refresh_wrote(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector_service, "DEVICE_REFRESH_SECONDS", 3600.0)
    monkeypatch.setattr(collector_service, "DEVICE_TEXT_MAX_AGE_SECONDS", 3600.0)
    service, clock, ident = _filled(engine, settings)
    async with service.running():
        assert _value(service.exposition(), "cm_device_cpu_percent{") == "12.5"
        _store(engine, ident, 2, clock.now(), [pc_device("pc-1", cpu=77.0)], clock)
        await asyncio.to_thread(service.processor.drain)
        rendered = service.devices.rendered_devices
        assert _value(service.exposition(), "cm_device_cpu_percent{") == "12.5", "the last text"
        assert service.devices.rendered_devices == rendered, "the scrape rendered nothing"
        await asyncio.to_thread(service.devices.refresh)
        assert _value(service.exposition(), "cm_device_cpu_percent{") == "77.0"
        # A text older than the limit is not served: the scrape renders for itself.
        monkeypatch.setattr(collector_service, "DEVICE_TEXT_MAX_AGE_SECONDS", 0.0)
        _store(engine, ident, 3, clock.now(), [pc_device("pc-1", cpu=88.0)], clock)
        await asyncio.to_thread(service.processor.drain)
        assert _value(service.exposition(), "cm_device_cpu_percent{") == "88.0"
        # A failed refresh (the store went away) leaves the scrape to find out for itself.
        monkeypatch.setattr(collector_service, "DEVICE_TEXT_MAX_AGE_SECONDS", 3600.0)
        service.devices.forget_text()
        assert service.devices.latest(3600.0) is None
    _store(engine, ident, 4, clock.now(), [pc_device("pc-1", cpu=99.0)], clock)
    service.processor.drain()
    assert _value(service.exposition(), "cm_device_cpu_percent{") == "99.0", "stopped: renders"


def _cpu(text: str, n: int) -> str:
    return _value(
        text.encode(),
        f'cm_device_cpu_percent{{province="37",commune_code="13285",device_id="pc-{n}"',
    )


def _agent_up(text: bytes) -> str:
    (line,) = (line for line in text.decode().splitlines() if line.startswith("cm_agent_up{"))
    return line.rsplit(" ", 1)[1]


async def test_while_the_service_runs_the_agents_lines_come_from_the_refreshed_text(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector_service, "DEVICE_REFRESH_SECONDS", 3600.0)
    monkeypatch.setattr(collector_service, "DEVICE_TEXT_MAX_AGE_SECONDS", 3600.0)
    service, clock, _ident = _filled(engine, settings)
    async with service.running():
        assert _agent_up(service.exposition()) == "1.0"
        clock.advance(3600)  # an hour without a report: the agent is down ...
        assert _agent_up(service.exposition()) == "1.0", "... once the refresh has formatted it"
        assert _agent_up(service.exposition(devices=False)) == "1.0"
        await asyncio.to_thread(service.refresh_exposition)
        assert _agent_up(service.exposition()) == "0.0"
        # A text older than the limit is not served: the scrape formats the agents itself.
        clock.advance(-3600)
        monkeypatch.setattr(collector_service, "DEVICE_TEXT_MAX_AGE_SECONDS", 0.0)
        assert _agent_up(service.exposition()) == "1.0"
    clock.advance(3600)
    assert _agent_up(service.exposition()) == "0.0", "stopped: formatted at each scrape"
