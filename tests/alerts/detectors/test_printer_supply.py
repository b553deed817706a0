"""Printer supplies: a ticket only on the printer's own evidence; days to empty that act."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from alerts.detectors.printer_supply import PrinterSupplyDetector
from alerts.rules import load_rules
from tests.alerts.support import HEARTBEAT, World, printer, router

SUPPLY = {"supply": "1", "description": "Black Toner", "type": "toner", "colour": "black"}


def quirky_printer(
    device_id: str,
    *,
    level: float | None,
    state: str,
    reason: str,
    alarms: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A printer as the SNMP poller reports it, the supply's state and reason as given."""
    samples: list[dict[str, Any]] = [{"name": "snmp_up", "value": 1.0}]
    if level is not None:
        samples.append({"name": "printer_supply_level_percent", "value": level, "labels": SUPPLY})
    samples.append(
        {
            "name": "printer_supply_state",
            "value": 1.0,
            "labels": {**SUPPLY, "state": state, "reason": reason},
        }
    )
    for condition in ("low_toner", "no_toner", "jammed"):
        samples.append(
            {
                "name": "printer_error",
                "value": 1.0 if condition in alarms else 0.0,
                "labels": {"printer": "1", "condition": condition},
            }
        )
    return {"device_id": device_id, "kind": "printer", "samples": samples}


def _run(world: World, site: Any, printer: dict[str, Any], ticks: int = 3) -> None:
    for _ in range(ticks):
        site.devices = [router("R"), printer]
        world.tick()


def test_zero_against_an_unknown_maximum_is_not_empty_on_its_own(engine: Engine) -> None:
    world = World(engine)
    site = world.enrol(world.communes[0], [router("R")])
    # What a quirky printer says (level 0 of capacity -2, another row "some remaining"): the
    # poller reports the state with its reason, not 0 %; the printer's own bits are quiet.
    quirk = quirky_printer("PR", level=None, state="unknown", reason="zero_of_unknown_capacity")
    _run(world, site, quirk)
    assert world.tickets() == []
    # The same printer raising its own "no toner" bit: now it is low, with the reason shown.
    _run(
        world,
        site,
        {
            **quirk,
            "samples": quirky_printer(
                "PR",
                level=None,
                state="unknown",
                reason="zero_of_unknown_capacity",
                alarms=("no_toner",),
            )["samples"],
        },
    )
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.device_id, ticket.owner) == (
        "printer_supply_low",
        "PR",
        "printer-vendor",
    )
    evidence = json.loads(ticket.evidence)
    assert evidence["printer alarm"] == "no_toner"
    assert evidence["supply state (not measured)"] == "unknown (zero_of_unknown_capacity)"


def test_an_empty_supply_is_empty_now_not_in_days(engine: Engine) -> None:
    world = World(engine)
    site = world.enrol(world.communes[0], [router("R")])
    levels = [30.0, 20.0, 10.0, 0.0]
    for level in levels:
        site.devices = [
            router("R"),
            quirky_printer("PR", level=level, state="ok" if level else "empty", reason="measured"),
        ]
        world.tick()
        world.clock.advance(6 * 3600 - HEARTBEAT)
    (ticket,) = world.tickets()
    evidence = json.loads(ticket.evidence)
    assert evidence["forecast_empty_days"] == 0.0
    assert evidence["level percent"] == 0.0


def test_a_cartridge_moving_in_small_steps_keeps_days_of_history_and_forecasts(
    engine: Engine,
) -> None:
    world = World(engine)
    site = world.enrol(world.communes[0], [router("R")])
    level = 60.0
    # Page-counted: a small step every report (every 5 minutes), 12 points a day; at most one
    # history point an hour is kept, so the history spans days and makes a trend.
    for _ in range(3 * 24 * 12):
        site.devices = [
            router("R"),
            quirky_printer("PR", level=level, state="ok", reason="measured"),
        ]
        world.tick()
        world.clock.advance(300 - HEARTBEAT)
        level -= 12.0 / (24 * 12)
        if world.tickets():
            break
    rules = load_rules()
    detector = next(d for d in world.alerts.detectors if isinstance(d, PrinterSupplyDetector))
    assert detector.rules.printer.forecast_days == rules.printer.forecast_days
    (ticket,) = world.tickets()
    evidence = json.loads(ticket.evidence)
    # 36 % left at 12 points a day: empty in about 3 days, the first time the trend shows it.
    assert 2.5 <= evidence["forecast_empty_days"] <= 3.0
    assert level > 30  # long before the 10 % threshold


def test_a_refill_restarts_the_trend_and_ends_the_ticket(engine: Engine) -> None:
    world = World(engine)
    site = world.enrol(world.communes[0], [router("R")])
    _run(world, site, quirky_printer("PR", level=4.0, state="low", reason="measured"))
    (ticket,) = world.tickets()
    assert ticket.active
    _run(world, site, quirky_printer("PR", level=100.0, state="ok", reason="measured"))
    (ticket,) = world.tickets()
    assert not ticket.active


def test_toner_forecast_raises_before_the_level_is_low(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    site = world.enrol(commune, [router("R"), printer("PR", level=40.0)])
    level = 40.0
    # 6 points a day lost: empty within 3 days from 18 %, before the 10 % threshold is crossed.
    for _ in range(16):
        site.devices = [router("R"), printer("PR", level=level)]
        world.tick()
        world.clock.advance(6 * 3600 - HEARTBEAT)
        level -= 1.5
    found = world.tickets()
    assert [(t.problem_class, t.device_id, t.owner) for t in found] == [
        ("printer_supply_low", "PR", "printer-vendor")
    ]
    assert "forecast_empty_days" in found[0].body_vi
    assert level > 10
