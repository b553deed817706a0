"""The official report's figures (alerts/official_report.py) against the ticket store, on both
stores: availability in opening hours, incidents by class, SLA per owner, the communes down
longest. The expected figures are recomputed from the rows by the test's own arithmetic
(tests/alerts/report_world.py), never by the code under test; a few edge cases of the SLA rules
run on hand-made rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, func, select

from alerts.calendar import load_calendar
from alerts.official_report import Rows, compute, gather, to_json
from alerts.report_period import parse_month, parse_quarter
from alerts.routing import load_routing
from alerts.schema import incidents
from collector.schema import device_state
from tests.alerts.report_world import (
    REPORTED_AT,
    ReportWorld,
    build_report_world,
    independent_availability,
    independent_sla,
)

CALENDAR = load_calendar()


@pytest.fixture
def month(engine: Engine, tmp_path: Path) -> ReportWorld:
    return build_report_world(engine, tmp_path)


def _first_report(engine: Engine, commune: str) -> datetime:
    with engine.connect() as conn:
        first = conn.execute(
            select(func.min(device_state.c.first_seen_at)).where(
                device_state.c.commune_code == commune
            )
        ).scalar_one()
    assert isinstance(first, datetime)
    return first


def test_march_figures_match_the_rows_recomputed(month: ReportWorld) -> None:
    engine, province = month.engine, month.province
    routing = load_routing(province.routing_file)
    report = gather(engine, parse_month("2026-03"), REPORTED_AT, CALENDAR, routing)
    assert report.complete
    # Availability per commune: opening hours from the first report, down while cut.
    by_code = {c.code: c for c in report.communes}
    assert set(by_code) == {province.cut, province.other}
    for code in (province.cut, province.other):
        open_s, down_s = independent_availability(
            engine, code, _first_report(engine, code), REPORTED_AT
        )
        figures = by_code[code]
        assert figures.open_time.total_seconds() == pytest.approx(open_s)
        assert figures.down_time.total_seconds() == pytest.approx(down_s)
        assert figures.availability == pytest.approx(1 - down_s / open_s)
    cut = by_code[province.cut]
    assert cut.name == "Phường Châu Sơn"
    assert 45 * 60 <= cut.down_time.total_seconds() <= 55 * 60  # the 50-minute cut
    assert cut.availability is not None
    assert cut.availability < 1.0
    assert by_code[province.other].availability == 1.0
    # The province: open-time weighted.
    (ninh_binh,) = report.provinces
    assert (ninh_binh.name, ninh_binh.communes_monitored, ninh_binh.communes_total) == (
        "Ninh Bình",
        2,
        129,
    )
    assert ninh_binh.availability == pytest.approx(
        1 - cut.down_time / (cut.open_time + by_code[province.other].open_time)
    )
    # Only the cut commune was down: it heads the ranking, alone.
    assert [c.code for c in report.top_downtime] == [province.cut]
    # Incidents by class, straight from the incident rows.
    with engine.connect() as conn:
        stored: dict[str, int] = dict(
            conn.execute(
                select(incidents.c.problem_class, func.count()).group_by(incidents.c.problem_class)
            ).all()
        )
    assert {c.problem_class: c.incidents for c in report.classes} == stored
    assert stored == {"site_outage": 1, "device_health": 1, "printer_fault": 1}


def test_sla_per_owner_matches_the_ticket_rows(month: ReportWorld) -> None:
    engine = month.engine
    routing = load_routing(month.province.routing_file)
    report = gather(engine, parse_month("2026-03"), REPORTED_AT, CALENDAR, routing)
    expected = independent_sla(engine, REPORTED_AT)
    owners = {o.owner: o for o in report.owners}
    # Every contract of routing.yaml has its line, with or without tickets.
    assert list(owners) == list(routing.owners)
    for owner_id, figures in owners.items():
        counted: Counter[str] = expected.get(owner_id, Counter())
        assert figures.opened == counted.get("opened", 0), owner_id
        for sla in ("response", "resolution"):
            got = getattr(figures, sla)
            assert (got.met, got.breached, got.pending) == (
                counted.get(f"{sla}_met", 0),
                counted.get(f"{sla}_breached", 0),
                counted.get(f"{sla}_pending", 0),
            ), (owner_id, sla)
        assert figures.response_notices == counted.get("response_notices", 0), owner_id
    # What the scenario made, in words: the ISP answered late but fixed the line in time.
    isp = owners["isp"]
    assert (isp.response.breached, isp.resolution.met, isp.response_notices) == (1, 1, 1)
    assert isp.response.compliance == 0.0
    assert isp.resolution.compliance == 1.0
    # The commune IT officer never fixed the disk: the longest, still going on 2 April.
    it = owners["commune-it"]
    assert (it.response.met, it.resolution.breached, it.longest_ongoing) == (1, 1, True)
    assert it.longest is not None
    assert it.longest > timedelta(days=30)
    assert owners["printer-vendor"].resolution.met == 1
    assert owners["so-khcn"].opened == 0
    assert owners["so-khcn"].response.compliance is None


def test_the_json_carries_the_same_figures(month: ReportWorld) -> None:
    routing = load_routing(month.province.routing_file)
    report = gather(month.engine, parse_month("2026-03"), REPORTED_AT, CALENDAR, routing)
    body = to_json(report)
    assert body["period"] == "2026-03"
    assert body["complete"] is True
    isp = next(o for o in body["owners"] if o["owner"] == "isp")
    assert isp["response"] == {"met": 0, "breached": 1, "pending": 0, "compliance": 0.0}
    assert body["top_downtime"][0]["name"] == "Phường Châu Sơn"


def test_a_quarter_and_a_period_still_running(month: ReportWorld) -> None:
    routing = load_routing(month.province.routing_file)
    engine = month.engine
    quarter = gather(engine, parse_quarter("2026-Q1"), REPORTED_AT, CALENDAR, routing)
    march = gather(engine, parse_month("2026-03"), REPORTED_AT, CALENDAR, routing)
    # Monitoring began in March: the quarter's figures are March's.
    assert [c.open_time for c in quarter.communes] == [c.open_time for c in march.communes]
    assert quarter.tickets_opened == march.tickets_opened == 3
    february = gather(engine, parse_month("2026-02"), REPORTED_AT, CALENDAR, routing)
    assert february.communes == ()
    assert february.tickets_opened == 0
    # Made on the world's own clock (2 March): figures up to now, the period not over.
    now = month.province.world.clock.now()
    running = gather(engine, parse_month("2026-03"), now, CALENDAR, routing)
    assert not running.complete
    assert running.until == now
    it = next(o for o in running.owners if o.owner == "commune-it")
    assert (it.resolution.breached, it.resolution.pending) == (0, 1)  # due tomorrow


def _ticket(**fields: object) -> SimpleNamespace:
    opened = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    base: dict[str, object] = {
        "id": 1,
        "owner": "isp",
        "opened_at": opened,
        "acknowledged_at": None,
        "resolved_at": None,
        "respond_by": opened + timedelta(minutes=30),
        "resolve_by": opened + timedelta(hours=4),
        "response_breached": False,
        "resolution_breached": False,
        "sla_paused_since": None,
        "commune_code": "13285",
        "problem_class": "site_outage",
    }
    return SimpleNamespace(**{**base, **fields})


def test_sla_rules_on_hand_made_tickets() -> None:
    opened = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    rows = Rows(
        communes={},
        provinces={},
        since={},
        outages={},
        incidents=[],
        tickets=[
            # Acknowledged 40 minutes in, the sweep never flagged it: late all the same.
            _ticket(id=1, acknowledged_at=opened + timedelta(minutes=40)),
            # Gone by itself in 10 minutes, nobody acknowledged: answered in time.
            _ticket(id=2, resolved_at=opened + timedelta(minutes=10)),
            # Paused by a maintenance window past its deadlines: neither met nor breached.
            _ticket(id=3, sla_paused_since=opened + timedelta(minutes=5)),
            # An owner routing.yaml no longer has keeps its line under its id.
            _ticket(id=4, owner="old-isp", acknowledged_at=opened + timedelta(minutes=1)),
        ],
        notices=[SimpleNamespace(ticket_id=1, note="resolution SLA breached", owner="isp")],
    )
    routing = load_routing()
    report = compute(rows, parse_month("2026-03"), opened + timedelta(hours=5), CALENDAR, routing)
    owners = {o.owner: o for o in report.owners}
    isp = owners["isp"]
    assert (isp.response.met, isp.response.breached, isp.response.pending) == (1, 1, 1)
    assert (isp.resolution.met, isp.resolution.breached, isp.resolution.pending) == (1, 1, 1)
    assert (isp.response_notices, isp.resolution_notices) == (0, 1)
    assert isp.longest == timedelta(hours=5)
    assert isp.longest_ongoing
    old = owners["old-isp"]
    assert (old.name_vi, old.kind, old.opened, old.response.met) == ("old-isp", "", 1, 1)
    assert list(owners)[-1] == "old-isp"
