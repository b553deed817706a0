"""``commune-monitor demo``'s command line: its options, turned into :class:`DemoOptions` for
:func:`province.demo.run_demo` (kept apart so that the demo's wiring stays readable)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from province.demo import (
    DEFAULT_DATA_DIR,
    DEFAULT_PROVINCE,
    DEFAULT_QUIET_SPEED,
    DEFAULT_SPEED,
    DemoError,
    DemoOptions,
    run_demo,
)


def demo_command(
    ctx: typer.Context,
    province: Annotated[
        str, typer.Option(help="Province code (2 digits) from the 2025 list.")
    ] = DEFAULT_PROVINCE,
    communes: Annotated[
        int | None,
        typer.Option(
            min=1, help="Simulate only the first N communes (all are loaded). Default 40."
        ),
    ] = 40,
    all_communes: Annotated[
        bool, typer.Option("--all-communes", help="Simulate every commune of the province.")
    ] = False,
    speed: Annotated[
        float,
        typer.Option(
            help="Simulated seconds per real second while something happens (a centre open, PCs "
            f"switching on or off, a fault). Default {DEFAULT_SPEED:g}: a minute a second. A "
            "machine too slow for it slows the demo down; it never invents outages."
        ),
    ] = DEFAULT_SPEED,
    quiet_speed: Annotated[
        float,
        typer.Option(
            help="Simulated seconds per real second when all is quiet (nights, weekends: only "
            f"site agents report). Default {DEFAULT_QUIET_SPEED:g}, so the night before the "
            "default scenario's Saturday takes under a minute."
        ),
    ] = DEFAULT_QUIET_SPEED,
    start: Annotated[
        str | None,
        typer.Option(
            help="When the live run starts (and the history ends): 'now', or a time such as "
            "2026-03-06T15:30 (Vietnam time without an offset). Default: the most recent Friday "
            "at 15:30, so the default scenario shows an afternoon at work, the evening shutdown, "
            "a night and a Saturday. Scenario times are offsets from it."
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            help="Scenario YAML of faults (times are offsets from --start). Default: the "
            "bundled sim/scenarios/default.yaml, which needs 3 communes or more."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help=f"Demo data folder (recreated on each run). Default {DEFAULT_DATA_DIR}."),
    ] = None,
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Listen port.")] = 8080,
    backfill_days: Annotated[
        float, typer.Option(min=0, help="Days of history generated before the live run.")
    ] = 30.0,
    backfill_step: Annotated[
        float,
        typer.Option(
            min=1,
            help="Minutes between back-filled reports. Default 60 (hourly: about 350,000 reports "
            "for 40 communes, a minute or two on 2 cores); 240 starts four times sooner.",
        ),
    ] = 60.0,
    interval: Annotated[
        float, typer.Option(min=1, help="Simulated seconds between an agent's live reports.")
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the fleet and its behaviour.")] = 0,
) -> None:
    """Run a simulated province end to end: store, history, collector, live fleet with faults.

    The live run starts on the most recent Friday at 15:30 (Vietnam time) unless --start says
    otherwise, after --backfill-days of history, and prints what will happen when: faults, the
    evening shutdown, the night, a Saturday, and which of them should raise a ticket.
    """
    from sim.timeline import parse_start

    overrides = getattr(ctx.obj, "overrides", {}) or {}
    try:
        start_at = parse_start(start, datetime.now(UTC))
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    options = DemoOptions(
        province=province,
        communes=None if all_communes else communes,
        speed=speed,
        quiet_speed=quiet_speed,
        start=start_at if start is not None else None,
        scenario=scenario,
        data_dir=data_dir or overrides.get("data_dir") or DEFAULT_DATA_DIR,
        host=host,
        port=port,
        backfill_days=backfill_days,
        backfill_step_minutes=backfill_step,
        interval_seconds=interval,
        seed=seed,
    )
    from collector.errors import CollectorError

    try:
        code = run_demo(options)
    except (DemoError, CollectorError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:  # Before the event loop took the signal over.
        sys.exit(130)
    raise typer.Exit(code=code)
