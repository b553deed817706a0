"""The measure of issue 7: a simulated province with known faults gives exactly their tickets.

50 communes and 1,700 devices of Ninh Bình report through the real ingest path (HTTP app,
journal, processor) on a fake clock, one report every two minutes per agent. Each fault of the
scenario must give one ticket of the right class, owner, commune, device and central system,
started and ended within one heartbeat of the truth and raised within 1.5 heartbeats; nothing
else may raise a ticket (two central systems failing at once are two tickets for their two
vendors). The notifications reach a real SMTP server and a webhook receiver, both down at first.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector.api import create_app
from collector.cli import BUNDLED_UNITS
from collector.service import build_service
from collector.settings import Settings
from collector.sim import Driver, generate_fleet, parse_scenario
from tests.alerts.receivers import SmtpServer, WebhookServer
from tests.alerts.support import World
from tests.fakes import FakeClock
from tests.services import free_port

# Agents report every 2 minutes: the 40-minute outage is 20 steps of 610 agents over HTTP; every
# tolerance of the issue is in heartbeats, so they scale with it.
HEARTBEAT = 120.0
SCENARIO = """
name: issue-7
faults:
  - {id: fibre-cut, type: link_down, start: 4m, duration: 40m, target: {commune: 1}}
  - id: flapping
    type: link_flapping
    start: 4m
    duration: 40m
    period: 8m
    target: {commune: 2}
  - id: motcua-down
    type: software_outage
    start: 46m
    duration: 10m
    target: {scope: province, system: motcua}
  # The national portal fails too, for part of the same time: its own ticket, its own owner.
  - id: portal-down
    type: software_outage
    start: 48m
    duration: 6m
    target: {scope: province, system: dvcqg}
  - {id: slow-here, type: software_slow, start: 6m, duration: 16m, target: {commune: 3}}
  - id: pc-off
    type: device_off
    start: 6m
    duration: 20m
    target: {scope: device, commune: 4, kind: pc, index: 1}
  - id: jam
    type: printer_jam
    start: 6m
    duration: 10m
    target: {scope: device, commune: 5, kind: printer, index: 0}
  - id: toner
    type: toner_empty
    start: 8m
    duration: 30m
    target: {scope: device, commune: 6, kind: printer, index: 0}
  - id: disk
    type: disk_full
    start: 10m
    duration: 24m
    target: {scope: device, commune: 7, kind: pc, index: 2}
"""
# The simulator's healthy fleet runs old 4 GB PCs at 98 % memory through the peak hours and lets
# disks reach 93 % before a technician cleans them: real conditions, but not the scenario's faults.
# The test's rules therefore watch disks at 95 % and leave memory pressure out.
RULES = """
tickets: {hold_down: 4m, reopen_window: 2h}
rules:
  - {name: device_unreachable, problem_class: device_down, metric: snmp_up, op: "<", threshold: 1}
  - name: ping_unreachable
    problem_class: device_down
    metric: ping_up
    device_kinds: [ups, kiosk, queue_machine, camera, nvr, video_conference, other]
    op: "<"
    threshold: 1
  - {name: disk_full, problem_class: device_health, metric: disk_used_percent, op: ">",
     threshold: 95}
  - {name: smart_failing, problem_class: device_health, metric: smart_healthy, op: "<",
     threshold: 1}
  - name: printer_error
    problem_class: printer_fault
    metric: printer_error
    labels: {condition: [jammed, door_open, offline, service_requested]}
    op: ">="
    threshold: 1
  - {name: supply_low, problem_class: printer_supply_low, metric: printer_supply_level_percent,
     op: "<", threshold: 10, forecast_days: 3}
"""
OWNERS: dict[str | tuple[str, str | None], str] = {
    "site_outage": "isp",
    "site_link_degraded": "isp",
    ("software_outage", "motcua"): "motcua-vendor",
    ("software_outage", "dvcqg"): "dvcqg-operator",
    "software_slow_site": "commune-it",
    "device_down": "commune-it",
    "device_health": "commune-it",
    "printer_fault": "printer-vendor",
    "printer_supply_low": "printer-vendor",
}


def _routing(webhook_url: str) -> str:
    bundled = (Path(__file__).parents[2] / "alerts" / "routing.yaml").read_text(encoding="utf-8")
    # Every owner is told by e-mail (the bundled addresses) and through the webhook as well.
    return bundled.replace(
        "    channels: [{type: email, to:",
        f'    channels: [{{type: webhook, to: "{webhook_url}"}}, {{type: email, to:',
    )


@pytest.mark.timeout(1200)
async def test_fault_injection_gives_exactly_one_ticket_per_fault(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    smtp = SmtpServer(free_port())
    webhook = WebhookServer(free_port())
    webhook.start()
    webhook.failing = True
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES, encoding="utf-8")
    routing_file = tmp_path / "routing.yaml"
    routing_file.write_text(_routing(webhook.url), encoding="utf-8")
    settings = settings.model_copy(
        update={
            "heartbeat_seconds": HEARTBEAT,
            "run_processor": False,
            "alerts_rules_file": rules_file,
            "alerts_routing_file": routing_file,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
        }
    )
    clock = FakeClock()
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=50)
    assert len(fleet.communes) >= 50
    assert len(fleet.devices) >= 1_000
    resolved = parse_scenario(SCENARIO, "issue-7.yaml").resolve(fleet, clock.now())
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    assert service.alerting is not None
    alerting = service.alerting
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
            for step in range(32):
                if step == 5:
                    smtp.start()  # the mail relay comes back after 10 minutes
                if step == 10:
                    webhook.failing = False  # and the webhook receiver after 20
                await driver.step()
                service.processor.drain()
                alerting.engine.sweep()
                alerting.dispatcher.deliver_due()
                clock.advance(HEARTBEAT)
            for _ in range(10):  # let the last backoffs run out
                clock.advance(HEARTBEAT)
                alerting.dispatcher.deliver_due()
    finally:
        await driver.aclose()
        smtp.stop()
        webhook.stop()

    found = World.__new__(World)
    found.engine = engine
    tickets = found.tickets()
    got = Counter((t.problem_class, t.commune_code, t.device_id, t.system) for t in tickets)
    want = Counter(
        (e.problem_class, e.commune_code, e.device_id, e.system) for e in resolved.ground_truth
    )
    # Precision and recall 1.0, no duplicates; one software outage per central system.
    assert got == want
    slack = timedelta(seconds=HEARTBEAT)
    by_key = {(t.problem_class, t.commune_code, t.device_id, t.system): t for t in tickets}
    for truth in resolved.ground_truth:
        key = (truth.problem_class, truth.commune_code, truth.device_id, truth.system)
        ticket = by_key[key]
        owner = OWNERS.get(truth.problem_class) or OWNERS[(truth.problem_class, truth.system)]
        assert ticket.owner == owner, truth.fault_id
        assert abs(ticket.started_at - truth.start) <= slack, truth.fault_id
        assert ticket.ended_at is not None, truth.fault_id
        assert abs(ticket.ended_at - truth.end) <= slack, truth.fault_id
        assert ticket.opened_at - truth.start <= 1.5 * slack, truth.fault_id
        assert ticket.state == "resolved", truth.fault_id
    flapping = by_key[("site_link_degraded", fleet.communes[2].code, None, None)]
    assert flapping.reopen_count == 2
    assert all(t.reopen_count == 0 for t in tickets if t.id != flapping.id)
    # Notifications: each ticket change reached both receivers exactly once, despite the outages.
    assert alerting.dispatcher.pending() == 0
    hooks = Counter(
        (event["ticket"]["id"], event["event"], event["at"], event["note"])
        for event in webhook.received
    )
    assert all(count == 1 for count in hooks.values())
    assert {key[0] for key in hooks} == {t.id for t in tickets}
    assert Counter(key[1] for key in hooks if key[0] == flapping.id)["reopened"] == 2
    assert len(smtp.messages) >= len(webhook.received)  # escalations also mail the DOST team
