"""/metrics passes promtool's linter and carries the labels dashboards rely on."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.wire import ReportBatch
from collector import agents
from collector.ingest import store_batch
from collector.schema import communes
from collector.settings import Settings
from province.service import ProvinceService, build_service
from tests.collector.builders import batch, pc_device, snmp_device
from tests.fakes import FakeClock
from tests.services import require_binary


def _fill(engine: Engine, settings: Settings) -> bytes:
    return _filled(engine, settings)[0].exposition()


def _filled(engine: Engine, settings: Settings) -> tuple[ProvinceService, FakeClock]:
    """A collector whose one agent reported a PC, a printer and a router 30 s ago."""
    clock = FakeClock()
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    with engine.connect() as conn:
        commune = conn.execute(select(communes.c.code)).scalars().first()
    assert commune is not None
    token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1))
    ident = agents.enrol(engine, token, "pc", "t", clock.now())
    devices = [pc_device("pc-1"), snmp_device("printer-1"), snmp_device("router-1", "router")]
    body = ReportBatch.model_validate(
        batch(
            ident.agent_id,
            [1],
            clock.now() - timedelta(seconds=30),
            devices=devices,
            sent_at=clock.now(),
        )
    )
    with engine.begin() as conn:
        store_batch(
            conn,
            agents.authenticate(engine, ident.agent_token),
            body,
            clock.now(),
            timedelta(0),
            1000,
        )
    service.processor.drain()
    return service, clock


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
    service, clock = _filled(engine, settings)
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
    service, _clock = _filled(engine, settings)
    full = service.exposition()
    lean = service.exposition(devices=False)
    assert _device_lines(full)
    assert _device_lines(lean) == []
    assert b"cm_ingest_requests_total" in lean
    assert b"cm_agent_up{" in lean
