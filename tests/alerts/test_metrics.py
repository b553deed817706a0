"""Ticket gauges on /metrics (alerts/metrics.py) against tickets the real engine raised: every
family carries the province, tickets their commune, and the counts are the store's."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from alerts import tickets as desk_api
from alerts.metrics import TicketCollector, collector_province
from alerts.schema import outbox, tickets
from collector import communes
from collector.communes import BUNDLED_UNITS
from tests.alerts.support import World, pc, printer
from tests.conftest import TEST_PROVINCE

LABELS = ("province", "commune_code", "problem_class", "owner", "state")


def _scrape(collector: TicketCollector) -> dict[str, dict[tuple[str, ...], float]]:
    registry = CollectorRegistry()
    registry.register(collector)
    families: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            key = tuple(sample.labels.get(label, "") for label in (*LABELS, "kind"))
            families.setdefault(sample.name, {})[key] = sample.value
    return families


def _raise_tickets(engine: Engine) -> World:
    """Eight communes' PCs all fail their probes for 16 minutes (one software_outage ticket,
    past the vendor's 15-minute response SLA); one commune's printer is jammed, another's disk
    is full and its ticket acknowledged."""
    world = World(engine)
    pcs = [
        world.enrol(code, [pc(f"{code}-PC-{i}")]) for code in world.communes[:8] for i in range(2)
    ]
    world.enrol(world.communes[0], [printer(f"{world.communes[0]}-PR", jammed=True)])
    pcs[2].devices = [pc(pcs[2].devices[0]["device_id"], disk=96.5)]
    for _ in range(2):
        world.tick()
    (disk,) = [t for t in world.tickets() if t.problem_class == "device_health"]
    desk_api.acknowledge(
        engine, world.alerts.desk, disk.id, "kythuat", world.clock.now(), scope=None
    )
    for agent in pcs:
        disk = 96.5 if agent is pcs[2] else 50.0
        agent.devices = [pc(agent.devices[0]["device_id"], probe="fail", disk=disk)]
    for _ in range(18):
        world.tick()
    return world


def test_ticket_counts_carry_province_and_commune_and_equal_the_store(engine: Engine) -> None:
    _raise_tickets(engine)
    scraped = _scrape(TicketCollector(engine))
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                tickets.c.commune_code,
                tickets.c.problem_class,
                tickets.c.owner,
                tickets.c.state,
                tickets.c.response_breached,
                tickets.c.resolution_breached,
            )
        ).all()
        pending = conn.execute(select(func.count()).where(outbox.c.sent_at.is_(None))).scalar_one()
    expected: dict[tuple[str, ...], float] = {}
    breaches: dict[tuple[str, ...], float] = {}
    for commune, problem_class, owner, state, response, resolution in rows:
        key = (TEST_PROVINCE, commune or "", problem_class, owner, state)
        expected[(*key, "")] = expected.get((*key, ""), 0.0) + 1
        for kind, breached in (("response", response), ("resolution", resolution)):
            if breached:
                breaches[(*key, kind)] = breaches.get((*key, kind), 0.0) + 1
    assert scraped["cm_tickets"] == expected
    classes = {key[2] for key in expected}
    assert {"software_outage", "printer_fault", "device_health"} <= classes
    # The province-wide ticket has no commune; it gets the collector's province.
    assert (TEST_PROVINCE, "", "software_outage", "motcua-vendor", "open", "") in expected
    assert {key[4] for key in expected} >= {"open", "acknowledged"}
    assert scraped["cm_ticket_sla_breaches"] == breaches
    assert (TEST_PROVINCE, "", "software_outage", "motcua-vendor", "open", "response") in breaches
    assert scraped["cm_notifications_pending"] == {
        (TEST_PROVINCE, "", "", "", "", ""): float(pending)
    }


def test_a_store_of_several_provinces_names_the_configured_one(engine: Engine) -> None:
    with engine.connect() as conn:
        assert collector_province(conn) == TEST_PROVINCE
    # A national store (several provinces): a ticket without a commune belongs to none of them
    # unless the collector's province is configured.
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, "01"))
    with engine.connect() as conn:
        assert collector_province(conn) == ""
        assert collector_province(conn, "37") == "37"
    scraped = _scrape(TicketCollector(engine, province="01"))
    assert scraped["cm_notifications_pending"] == {("01", "", "", "", "", ""): 0.0}
    assert scraped.get("cm_tickets", {}) == {}
