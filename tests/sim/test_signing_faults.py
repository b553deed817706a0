"""The signing chain's faults through the real ingest path and alert engine: one ticket each, for
the right owner, when the detector should raise it (issue 23)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from alerts.schema import incidents, tickets
from collector.communes import BUNDLED_UNITS
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from sim import Driver, generate_fleet, parse_scenario
from tests.fakes import FakeClock

HEARTBEAT = 300.0
# Monday from 08:00 (the fake clock's start): a certificate within 30 days until it is renewed,
# a browser update breaking a VNPT-CA Plugin, a token left at home until 10:00.
SCENARIO = """
name: signing
faults:
  - {id: cert, type: cert_expiring, start: 20m, duration: 40m,
     target: {scope: device, commune: 0, kind: pc, index: 0}}
  - {id: plugin, type: plugin_broken, start: 15m, duration: 30m,
     target: {scope: device, commune: 1, kind: pc, index: 0}}
  - {id: token, type: token_missing, start: 30m, duration: 90m,
     target: {scope: device, commune: 2, kind: pc, index: 0}}
"""
OWNERS = {
    "signing_cert_expiring": "commune-centre",
    "signing_plugin_down": "commune-it",
    "token_missing": "commune-it",
}


def key(found: Any) -> tuple[str, str | None, str | None]:
    """A ticket's or an expected incident's class, commune and device."""
    return (found.problem_class, found.commune_code, found.device_id)


def _tickets(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(tickets, incidents.c.started_at, incidents.c.ended_at, incidents.c.evidence)
                .join(incidents, incidents.c.id == tickets.c.incident_id)
                .order_by(tickets.c.id)
            ).all()
        )


@pytest.mark.timeout(600)
async def test_each_signing_fault_is_one_ticket_for_its_owner(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={
            "heartbeat_seconds": HEARTBEAT,
            "run_processor": False,
            "alerts_sweep_seconds": 3600.0,
            "alerts_notify_seconds": 3600.0,
        }
    )
    clock = FakeClock()
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=3)
    resolved = parse_scenario(SCENARIO, "signing.yaml").resolve(fleet, clock.now())
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    assert service.alerting is not None
    driver = Driver(
        fleet,
        base_url="http://collector.test",
        spool_dir=tmp_path / "spools",
        clock=clock,
        faults=resolved.faults,
        transport=httpx.ASGITransport(app=create_app(service)),
        interval_seconds=HEARTBEAT,
    )
    try:
        async with service.running():
            driver.enrol(engine)
            driver.open_spools()
            for _ in range(30):  # to 10:30: past every fault and its hold-down
                await driver.step()
                service.processor.drain()
                service.alerting.engine.sweep()
                clock.advance(HEARTBEAT)
    finally:
        await driver.aclose()

    found = _tickets(engine)
    assert Counter(key(t) for t in found) == Counter(key(t) for t in resolved.ground_truth)
    slack = timedelta(seconds=HEARTBEAT)
    by_key = {key(t): t for t in found}
    for truth in resolved.ground_truth:
        ticket = by_key[key(truth)]
        assert ticket.owner == OWNERS[truth.problem_class], truth.fault_id
        assert abs(ticket.started_at - truth.start) <= slack, truth.fault_id
        assert ticket.ended_at is not None, truth.fault_id
        assert abs(ticket.ended_at - truth.end) <= slack, truth.fault_id
        raised = truth.raised_at or truth.start
        assert timedelta(0) <= ticket.opened_at - raised <= slack, truth.fault_id
        assert ticket.state == "resolved", truth.fault_id
    cert = by_key[("signing_cert_expiring", fleet.communes[0].code, resolved.faults[0].device_id)]
    holder = next(d for d in fleet.devices if d.device_id == resolved.faults[0].device_id)
    assert holder.pc is not None
    assert holder.pc.token is not None
    # The ticket names the clerk and says it was renewed.
    assert holder.pc.token.holder in cert.body_vi
    assert "replaced by" in cert.evidence
    plugin = by_key[("signing_plugin_down", fleet.communes[1].code, resolved.faults[1].device_id)]
    assert "-1*callbackDefault" in plugin.body_vi
