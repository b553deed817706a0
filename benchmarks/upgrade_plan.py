"""Benchmark: a budget plan for 5,000 assets with a year of synthetic rollups (target ≤ 2 s), then
the plan, the ranking and /metrics on a store with a month of live history (issue 22).

Builds a province register (Thanh Hóa, 166 communes, from the bundled list of units in
collector/data) with the fleet model of DOMAIN.md §5, keeps the first 5,000 assets, generates a
year of rollups per asset, then times:

* scoring: wear schedules and priority scores of every asset;
* the exact plan (coverage rules, then priority; MILP by HiGHS with a proven zero gap);
* the reference, a naive "sort by priority ÷ price and cut", and its "skip and fill" variant.

It prints both objectives (total priority of the replacements), their ratio and the time ratio.
Then, end to end through the state store (a temporary SQLite file): the XLSX import of those
assets and ``inventory.reports.budget_plan`` (read the register and device state, score, plan),
which is what ``GET /api/v1/inventory/plan`` and ``commune-monitor inventory plan`` run, on a
store with a register only.

Last, the live store (benchmarks/upgrade_plan_live.py): a month of the simulated province's
history through the real ingest path (HTTP back-fill, journal, processor with the alert engine
and the daily rollups), then plan and ranking from the rollups against the reference scan of the
journal, and ``/metrics``, the plan and the ranking over HTTP from ``serve`` (targets ≤ 2 s and
≤ 0.5 s for every scrape). ``--live-days 0`` skips it; with the defaults it takes some minutes.

    python benchmarks/upgrade_plan.py [--assets 5000] [--budget 8000000000] [--repeat 3]
        [--live-days 30] [--live-assets 5000] [--live-step-minutes 60] [--workdir DIR]
        [--scrape-seconds 20] [--scrape-load]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from collector.communes import BUNDLED_UNITS
from inventory.lives import load_life_tables
from inventory.models import Asset
from inventory.plan import PlanSettings, build_plan, greedy_reference
from inventory.prices import load_price_table
from inventory.priority import score_assets
from inventory.register_writer import register_to_xlsx
from inventory.reports import InventoryConfig, budget_plan
from inventory.sample_register import generate_register
from inventory.sample_signals import generate_signals
from inventory.solver import greedy_fill

UNITS_CSV = BUNDLED_UNITS
AS_OF = date(2026, 3, 2)
T = TypeVar("T")


def timed(repeat: int, run: Callable[[], T]) -> tuple[T, float]:
    """The last result and the median wall time of ``repeat`` runs."""
    times: list[float] = []
    result: T | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    assert result is not None
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=5_000, help="assets in the register")
    parser.add_argument("--budget", type=int, default=8_000_000_000, help="budget in VND")
    parser.add_argument("--province", default="38", help="province code (default Thanh Hóa)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic register")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--units", type=Path, default=UNITS_CSV, help="vn_units_2025.csv")
    parser.add_argument(
        "--live-days", type=float, default=30.0, help="days of live history; 0: skip that part"
    )
    parser.add_argument("--live-assets", type=int, default=5_000, help="register of the live store")
    parser.add_argument(
        "--live-step-minutes", type=float, default=60.0, help="minutes between an agent's reports"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep (and reuse) the live store here"
    )
    parser.add_argument(
        "--scrape-seconds", type=float, default=20.0, help="seconds of back-to-back /metrics"
    )
    parser.add_argument(
        "--scrape-load",
        action="store_true",
        help="the fleet reports live (once a minute, as in the demo) during the HTTP timings",
    )
    args = parser.parse_args()

    register = generate_register(args.units, args.province, seed=args.seed, as_of=AS_OF)
    assets = register[: args.assets]
    signals = generate_signals(assets, seed=args.seed, as_of=AS_OF)
    tables = load_life_tables()
    prices = load_price_table()
    settings = PlanSettings()
    print(
        f"register: {len(assets)} assets in {len({a.commune_code for a in assets})} communes, "
        f"{len(signals)} rollup records, budget {args.budget:,} VND, as of {AS_OF.isoformat()}"
    )

    scores, score_s = timed(
        args.repeat, lambda: score_assets(assets, tables, as_of=AS_OF, signals=signals)
    )
    plan, plan_s = timed(
        args.repeat,
        lambda: build_plan(
            assets, scores, prices, args.budget, tables=tables, as_of=AS_OF, settings=settings
        ),
    )
    cut, cut_s = timed(
        args.repeat,
        lambda: greedy_reference(assets, scores, prices, args.budget, tables=tables),
    )
    candidates = sorted(
        (a for a in assets if a.in_service and scores[a.asset_tag].score >= settings.min_score),
        key=lambda a: a.asset_tag,
    )
    fill, fill_s = timed(
        args.repeat,
        lambda: greedy_fill(
            [scores[a.asset_tag].points for a in candidates],
            [prices.price_for(a, tables.class_of(a)).price_vnd for a in candidates],
            args.budget,
        ),
    )

    total = score_s + plan_s
    met = sum(1 for c in plan.coverage if c.met)
    print(f"scoring (wear + priority): {score_s:8.3f} s")
    print(
        f"exact plan:                {plan_s:8.3f} s  ({plan.candidates} candidates, "
        f"solver {plan.solve_seconds:.3f} s, proven optimal: {plan.proven_optimal}, "
        f"bound {plan.bound_points / 100:,.2f})"
    )
    verdict = "OK" if total <= 2 else "MISSED"
    print(f"scoring + plan:            {total:8.3f} s  (target ≤ 2 s: {verdict})")
    print(
        f"exact:        {plan.replacements:5d} replacements, {plan.spent:>16,} VND, "
        f"priority {plan.objective_points / 100:12,.2f}, coverage met {met}/{len(plan.coverage)}"
    )
    for name, reference, seconds in (("greedy cut", cut, cut_s), ("greedy fill", fill, fill_s)):
        ratio = reference.value / plan.objective_points if plan.objective_points else 1.0
        print(
            f"{name + ':':13} {len(reference.chosen):5d} replacements, {reference.cost:>16,} VND, "
            f"priority {reference.value / 100:12,.2f}, "
            f"objective ratio {ratio:.4f}, time {seconds:.4f} s "
            f"(exact/greedy {plan_s / max(seconds, 1e-9):,.0f}×)"
        )

    store_figures(assets, args.units, args.province, args.budget, args.repeat)
    if args.live_days > 0:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from benchmarks.upgrade_plan_live import live_store_figures

        live_store_figures(args)


def store_figures(
    assets: list[Asset], units: Path, province: str, budget: int, repeat: int
) -> None:
    """Import into a temporary SQLite store and time the plan read from it."""
    import tempfile
    from datetime import UTC, datetime

    from collector import communes
    from collector.db import make_engine
    from collector.settings import load_settings
    from inventory.store import import_register
    from province import migrate

    now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(data_dir=Path(folder))
        engine = make_engine(settings)
        try:
            migrate.upgrade(engine)
            communes.load_units(engine, communes.read_units(units, province))
            data = register_to_xlsx(assets)
            start = time.perf_counter()
            imported = import_register(engine, data, filename="register.xlsx", now=now)
            import_s = time.perf_counter() - start
            config = InventoryConfig()
            plan, plan_s = timed(
                repeat, lambda: budget_plan(engine, config, budget, now=now, as_of=AS_OF)
            )
        finally:
            engine.dispose()
    print(
        f"store (SQLite): import of {imported.assets} assets from a {len(data) / 1024:,.0f} KiB "
        f"XLSX {import_s:.3f} s; plan read from the store {plan_s:.3f} s "
        f"({plan.replacements} replacements, proven optimal: {plan.proven_optimal})"
    )


if __name__ == "__main__":
    main()
