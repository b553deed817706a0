"""A batch's reports sorted for the detectors (alerts/observations.py): rule samples by the rules
in force, a commune's link from its router and from PCs that reach no central system, probes
by central system, the line's pings, printers' supplies, each agent's first measured time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.observations import LinkPoint, ObservationReader, unreachable_probe
from alerts.rules import load_rules
from alerts.systems import load_systems
from collector.processor import StoredReport
from tests.alerts.support import expand, pc, printer, router

AT = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)
COMMUNE = "13285"


def _report(agent: str, seq: int, at: datetime, devices: list[dict[str, Any]]) -> StoredReport:
    return StoredReport(seq, agent, COMMUNE, seq, at, {"devices": expand(devices)})


def _reader() -> ObservationReader:
    return ObservationReader(load_rules(), load_systems())


def test_rule_samples_are_the_watched_samples_of_each_device() -> None:
    seen = _reader().read([_report("a1", 1, AT, [pc("PC-1", disk=96.5)])])
    disk = [s for s in seen.rule_samples if s.rule.name == "disk_full"]
    assert [(s.device_id, s.kind, s.labels, s.value, s.at) for s in disk] == [
        ("PC-1", "pc", {"volume": "C:"}, 96.5, AT)
    ]
    # cpu_percent is watched by no bundled rule: not a rule sample.
    assert "cpu_percent" not in {s.name for s in seen.rule_samples}
    assert {s.rule.name for s in seen.rule_samples} == {
        "memory_pressure",
        "disk_full",
        "smart_failing",
    }


def test_a_communes_link_from_its_router_and_from_its_pcs_probes() -> None:
    earlier = AT - timedelta(minutes=1)
    seen = _reader().read(
        [
            _report("a1", 2, AT, [pc("PC-1")]),
            _report("a1", 1, earlier, [pc("PC-1", probe="cut")]),
            _report("a2", 1, AT, [router("RT", wan_up=False)]),
        ]
    )
    link = seen.link[COMMUNE]
    assert LinkPoint(AT, True, "RT wan if_oper_up=0") in link
    downs = {(p.at, p.down) for p in link if "no central system reachable" in p.evidence}
    ups = {(p.at, p.down) for p in link if p.evidence.endswith("probes connect")}
    assert downs == {(earlier, True)}
    assert ups == {(AT, False)}
    assert seen.reports == 3
    assert seen.first_report == {"a1": earlier, "a2": AT}


def test_probes_are_sorted_by_central_system_with_their_phases() -> None:
    seen = _reader().read([_report("a1", 1, AT, [pc("PC-1", probe={"motcua": "fail"})])])
    by_system = {p.system.id: p for p in seen.probes}
    assert set(by_system) == {"motcua", "dvcqg"}
    assert by_system["dvcqg"].values["probe_success"] == 1.0
    assert by_system["motcua"].values["probe_success"] == 0.0
    assert {"duration", "connect", "dns"} <= set(by_system["dvcqg"].values)
    assert all(p.commune_code == COMMUNE and p.at == AT for p in seen.probes)
    # One system failing while the other connects says nothing against the line.
    assert all(not point.down for point in seen.link[COMMUNE])


def test_the_lines_pings_and_a_printers_supplies() -> None:
    seen = _reader().read(
        [_report("a2", 1, AT, [router("RT", rtt=0.3, loss=0.25), printer("PR", level=5.0)])]
    )
    assert sorted((p.name, p.value) for p in seen.pings) == [
        ("ping_loss_ratio", 0.25),
        ("ping_rtt_seconds", 0.3),
    ]
    (reading,) = seen.printers
    assert (reading.device_id, reading.kind, reading.alarms) == ("PR", "printer", set())
    supply = reading.supplies["1"]
    assert (supply.level, supply.state, supply.reason) == (5.0, "low", "measured")
    assert supply.labels == {
        "supply": "1",
        "description": "Black Toner",
        "type": "toner",
        "colour": "black",
    }


@pytest.mark.parametrize(
    ("values", "unreachable"),
    [
        ({"probe_success": 1.0}, False),
        ({"probe_success": 0.0, "dns": 0.01}, True),  # nothing answered, no connection made
        ({"probe_success": 0.0, "connect": 0.1}, False),  # connected: the server failed
        ({"probe_success": 0.0, "probe_http_status": 503.0}, False),
        ({}, False),
    ],
)
def test_only_a_probe_that_never_connected_is_the_lines(
    values: dict[str, float], unreachable: bool
) -> None:
    assert unreachable_probe(values) is unreachable
