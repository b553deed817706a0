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
from collector.service import build_service
from collector.settings import Settings
from tests.collector.builders import batch, pc_device, snmp_device
from tests.fakes import FakeClock
from tests.services import require_binary


def _fill(engine: Engine, settings: Settings) -> bytes:
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
    return service.exposition()


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
