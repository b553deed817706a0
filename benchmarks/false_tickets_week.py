"""False tickets per commune-week: issue 19's measure with the guards off (the behaviour before
it) and on, on the same simulated week (tests/alerts/week: 50 communes, 1,050 devices, the real
ingest path, the week's shutdowns, holiday, weekend, maintenance, restart, uplink and faults).

"Guards off" expects every agent at all hours (no working calendar, goodbyes never explain a
silence), judges silence even while the collector restarts or lags, and groups no upstream
outage. The reference is that behaviour, run in the same script on the same week.

    python benchmarks/false_tickets_week.py [--days 7] [--store URL] [--guards both|off|on]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.settings import load_settings
from province import migrate
from tests.alerts.support import World
from tests.alerts.week.run import COMMUNES, WeekRun

TEST_PROVINCE = "37"  # Ninh Bình, as the tests use


def _week(url: str | None, days: float, guards: bool, folder: Path) -> tuple[int, int, float]:
    """(false tickets, true tickets found, seconds) of one run of the week."""
    folder.mkdir(parents=True)
    settings = load_settings(
        data_dir=folder,
        database_url=url or f"sqlite:///{folder / 'store.db'}",
        sqlite_synchronous="NORMAL",
    )
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, TEST_PROVINCE))
    (folder / "spools").mkdir()
    run = WeekRun(engine, folder / "spools", guards=guards, days=days, progress=print)
    run.run()
    world = World.__new__(World)
    world.engine = engine
    got = Counter((t.problem_class, t.commune_code, t.device_id, t.system) for t in world.tickets())
    want: Counter[tuple[str, str | None, str | None, str | None]] = Counter()
    for truth in run.plan.truth:
        code = None if truth.commune is None else run.codes[truth.commune]
        device = None
        if truth.device is not None and code is not None:
            device = f"{code}-{truth.device.replace(':', '-').upper()}"
        if truth.start < run.clock.now():
            want[(truth.problem_class, code, device, truth.system)] += 1
    engine.dispose()
    return sum((got - want).values()), sum((got & want).values()), run.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=7.0, help="days of the week to run")
    parser.add_argument("--store", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument(
        "--guards",
        choices=("both", "off", "on"),
        default="both",
        help="run the week with the guards off, on, or both (default) to compare",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        wanted = {"both": (False, True), "off": (False,), "on": (True,)}[args.guards]
        for guards in wanted:
            label = "on" if guards else "off"
            print(f"-- guards {label}")
            results[label] = _week(args.store, args.days, guards, Path(tmp) / label)
    weeks = args.days / 7.0
    print(f"\n{COMMUNES} communes, {args.days:g} days")
    for label, (false, true, seconds) in results.items():
        per = false / (COMMUNES * weeks)
        print(
            f"guards {label:3}: {false:5d} false tickets = {per:6.2f} per commune-week; "
            f"{true} true tickets found; {seconds:.0f} s"
        )
    if len(results) == 2:
        off, on = results["off"][0], results["on"][0]
        print(f"ratio off/on: {off / on:.1f}" if on else f"ratio off/on: {off} to 0")


if __name__ == "__main__":
    main()
