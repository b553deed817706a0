"""The live-store part of benchmarks/upgrade_plan.py: the plan, the ranking and /metrics on a
store holding a month of history that came through the real ingest path.

1. A SQLite store with the simulated fleet of the first communes of a province holding at least
   ``--live-assets`` register lines (sim.generate_fleet: the register and the devices that
   report are the same objects), the register imported, every agent enrolled.
2. History: every agent's reports of the last ``--live-days`` days, one every
   ``--live-step-minutes``, posted by the simulator's back-fill (sim.Driver.backfill) over HTTP to
   ``serve --no-processor --workers 2`` beside ``process`` (sim.history, the demo's layout), and
   processed: device state, events, the alert engine and the daily rollups, as in production.
3. In this process, the median of ``--repeat`` runs of ``budget_plan`` and ``ranking`` reading
   the rollups, against the reference: the same plan and ranking with saturation scanned from
   the journal (``inventory.signals.measured_signals``, the path before issue 22) over the
   journal's 7 days.
4. Over HTTP, from ``commune-monitor serve`` (processor included) started on the store:
   ``/metrics`` scraped back to back for ``--scrape-seconds`` from the moment it is ready, so that
   scrapes overlap the background computation of the register figures (every scrape's time:
   median and worst), then ``GET /api/v1/inventory/plan`` and ``/ranking``. The reference for
   /metrics is what a scrape cost when it recomputed the figures itself: the journal-scan
   computation of the figures plus the scrape. With ``--scrape-load`` the fleet reports live
   meanwhile, as in the demo: a child process (this module's ``load`` command) steps every agent
   once a minute and posts its reports to that ``serve``, which stores and processes them
   (device state, alert engine, rollups); the scrapes, plan and ranking are timed under it.

Only 127.0.0.1; every child is stopped by its PID. ``--workdir`` keeps the store, and a second
run with the same options reuses it instead of back-filling again.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from sqlalchemy import Engine, func, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.clock import SystemClock  # noqa: E402
from agent.vntime import local_date, local_midnight  # noqa: E402
from benchmarks.ingest import stop, wait_http  # noqa: E402
from collector import communes  # noqa: E402
from collector.communes import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.schema import agents, device_owners, device_state, journal  # noqa: E402
from collector.settings import Settings, load_settings  # noqa: E402
from inventory.metrics import summarise  # noqa: E402
from inventory.plan import Plan, build_plan  # noqa: E402
from inventory.priority import score_assets  # noqa: E402
from inventory.reconcile import reconcile, seen_devices  # noqa: E402
from inventory.register_writer import register_to_csv  # noqa: E402
from inventory.reports import InventoryConfig, budget_plan, ranking  # noqa: E402
from inventory.schema import inventory_rollups  # noqa: E402
from inventory.signals import measured_signals  # noqa: E402
from inventory.store import commune_names, import_register, list_assets  # noqa: E402
from province import migrate  # noqa: E402
from sim import Driver, Fleet, generate_fleet  # noqa: E402
from sim.history import history_collector, processed  # noqa: E402
from tests.services import free_port  # noqa: E402

TOKEN = "bench-admin-token"
MARKER = "bench.json"
IDENTITIES = "identities.json"  # the agents' ids and tokens, for the live load
JOURNAL_DAYS = 7.0  # the collector's default journal retention: what the old scan read
T = TypeVar("T")


def timed(repeat: int, run: Callable[[], T]) -> tuple[T, float]:
    """The last result and the median wall time of ``repeat`` runs."""
    result, wall, _ = timed_cpu(repeat, run)
    return result, wall


def timed_cpu(repeat: int, run: Callable[[], T]) -> tuple[T, float, float]:
    """The last result, the median wall time and the median CPU time of this process over
    ``repeat`` runs. On a shared machine the wall time grows with the load average; the CPU
    time barely does, and is what the run costs on an idle core."""
    walls: list[float] = []
    cpus: list[float] = []
    result: T | None = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    assert result is not None
    return result, statistics.median(walls), statistics.median(cpus)


def load_average() -> str:
    """The 1-minute load average, printed beside wall times (2 cores: above 2, runs wait)."""
    return f"{os.getloadavg()[0]:.1f}"


def fleet_with_assets(province: str, assets: int, seed: int) -> Fleet:
    """The first communes of ``province`` whose register holds at least ``assets`` lines."""
    whole = generate_fleet(BUNDLED_UNITS, province, seed=seed)
    held = 0
    for count, commune in enumerate(whole.communes, start=1):
        held += sum(1 for asset in whole.register if asset.commune_code == commune.code)
        if held >= assets:
            return generate_fleet(BUNDLED_UNITS, province, seed=seed, max_communes=count)
    return whole


async def _backfill(
    fleet: Fleet, settings: Settings, engine: Engine, days: float, step: float
) -> float:
    """Post and process the history; returns the seconds it took end to end."""
    driver = Driver(
        fleet,
        base_url="http://127.0.0.1:9",
        spool_dir=settings.data_dir / "spools",
        clock=SystemClock(),
    )
    begun = time.perf_counter()
    try:
        driver.enrol(engine)
        driver.save_identities(settings.data_dir / IDENTITIES)
        end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
        async with history_collector(settings, settings.data_dir / "history.log") as url:
            result = await driver.backfill(
                end - timedelta(days=days),
                end,
                step_seconds=step * 60,
                base_url=url,
                sent_clock=SystemClock(),
            )
            await processed(engine, lambda _done, _total: None)
    finally:
        await driver.aclose()
    seconds = time.perf_counter() - begun
    print(
        f"  history: {result.reports:,} reports ({result.samples:,} samples) of "
        f"{len(driver.runtimes)} agents posted over HTTP and processed in {seconds:.0f} s"
        + (f"; {len(result.failures)} refused" if result.failures else "")
    )
    return seconds


def build_store(workdir: Path, args: Any) -> tuple[Settings, Engine]:
    """The store with its register and history (reused when ``workdir`` already holds it)."""
    wanted = {
        "province": args.province,
        "assets": args.live_assets,
        "days": args.live_days,
        "step": args.live_step_minutes,
        "seed": args.seed,
    }
    settings = load_settings(data_dir=workdir, admin_token=TOKEN)
    marker = workdir / MARKER
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"  reusing the store in {workdir}")
        return settings, make_engine(settings)
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, args.province))
    fleet = fleet_with_assets(args.province, args.live_assets, args.seed)
    imported = import_register(
        engine,
        register_to_csv(list(fleet.register)),
        filename="register.csv",
        now=datetime.now(UTC),
    )
    print(
        f"  fleet: {len(fleet.communes)} communes of province {args.province}, "
        f"{imported.assets:,} assets in the register, {len(fleet.devices):,} reporting devices, "
        f"{len(fleet.agents):,} agents"
    )
    asyncio.run(_backfill(fleet, settings, engine, args.live_days, args.live_step_minutes))
    marker.write_text(json.dumps(wanted))
    return settings, engine


def ensure_identities(fleet: Fleet, settings: Settings, engine: Engine) -> None:
    """Identities the live load reports with: saved ones, or the fleet enrolled again (a store
    back-filled before they were saved), each agent's devices handed over to them."""
    path = settings.data_dir / IDENTITIES
    driver = Driver(
        fleet, base_url="http://127.0.0.1:9", spool_dir=settings.data_dir, clock=SystemClock()
    )
    try:
        if not driver.load_identities(path):
            driver.enrol(engine)
            driver.save_identities(path)
        # The devices stay with the agents that first reported them: hand each over to the
        # agent reporting with the saved identity, as 'agents move-device' would.
        with engine.begin() as conn:
            for runtime in driver.runtimes:
                others = select(agents.c.id).where(
                    agents.c.commune_code == runtime.agent.commune_code,
                    agents.c.hostname == runtime.agent.hostname,
                    agents.c.id != runtime.agent_id,
                )
                conn.execute(
                    update(device_owners)
                    .where(device_owners.c.agent_id.in_(others))
                    .values(agent_id=runtime.agent_id)
                )
    finally:
        asyncio.run(driver.aclose())


def start_load(settings: Settings, url: str, args: Any) -> subprocess.Popen[bytes]:
    """The live load (``load`` below) in a child process: its CPU is not the scraper's."""
    command = [sys.executable, str(Path(__file__).resolve()), "load", "--url", url]
    command += ["--workdir", str(settings.data_dir), "--province", args.province]
    command += ["--assets", str(args.live_assets), "--seed", str(args.seed)]
    return subprocess.Popen(command)


async def live_load(url: str, workdir: Path, province: str, assets: int, seed: int) -> None:
    """Every agent of the fleet reports once a minute to ``url`` until killed (the demo's pace)."""
    fleet = fleet_with_assets(province, assets, seed)
    driver = Driver(
        fleet, base_url=url, spool_dir=workdir / "load-spools", clock=SystemClock(), seed=seed
    )
    if not driver.load_identities(workdir / IDENTITIES):
        raise SystemExit("no saved identities: run the benchmark with --scrape-load")
    # Sequences after everything an earlier run sent (seconds since 2023, growing between runs):
    # a sequence already stored would be taken for a duplicate and cost the collector nothing.
    first_seq = int(time.time()) - 1_700_000_000
    for runtime in driver.runtimes:
        runtime.next_seq = first_seq
    spools = workdir / "load-spools"
    if spools.exists():
        for old in spools.iterdir():
            old.unlink()
    driver.open_spools()
    # Office hours, when every counter PC reports (at night only the network gear does): the
    # last working day's morning from 09:00 Vietnam time at real pace, whatever the hour the
    # benchmark runs at, late reports the collector takes as any.
    started = datetime.now(UTC)
    morning = local_midnight(local_date(started)) + timedelta(hours=9)
    while morning > started or local_date(morning).weekday() >= 5:
        morning -= timedelta(days=1)
    offset = started - morning
    try:
        while True:
            begun = time.monotonic()
            result = await driver.step(datetime.now(UTC) - offset)
            print(
                f"  load: {result.reports:,} reports measured, {result.sent:,} delivered in "
                f"{time.monotonic() - begun:.1f} s"
                + (f", {result.send_failures} failed" if result.send_failures else ""),
                flush=True,
            )
            await asyncio.sleep(max(0.0, driver.interval - (time.monotonic() - begun)))
    finally:
        await driver.aclose()


def journal_scan_plan(engine: Engine, config: InventoryConfig, budget: int, now: datetime) -> Plan:
    """The reference: the plan as it was read before issue 22, saturation scanned from the
    journal for every request."""
    assets = list_assets(engine)
    matched = reconcile(assets, seen_devices(engine)).matched
    signals = measured_signals(engine, matched, now, JOURNAL_DAYS, config.os_support)
    day = local_date(now)
    scores = score_assets(assets, config.tables, as_of=day, signals=signals, config=config.priority)
    return build_plan(
        assets,
        scores,
        config.prices,
        budget,
        tables=config.tables,
        as_of=day,
        settings=config.plan,
        commune_names=commune_names(engine),
    )


def store_contents(engine: Engine) -> str:
    with engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(journal)).scalar_one()
        devices = conn.execute(select(func.count()).select_from(device_state)).scalar_one()
        rows = conn.execute(select(func.count()).select_from(inventory_rollups)).scalar_one()
        days = conn.execute(select(func.count(func.distinct(inventory_rollups.c.day)))).scalar_one()
    return (
        f"{entries:,} journal entries, {devices:,} device states, {rows:,} rollup rows "
        f"over {days} days"
    )


def in_process(engine: Engine, budget: int, repeat: int) -> dict[str, float]:
    """Plan and ranking from the rollups against the journal scan, in this process."""
    config = InventoryConfig(journal_days=JOURNAL_DAYS)
    now = datetime.now(UTC)
    print(f"  in this process (median of {repeat}; wall time, and CPU time of this process):")
    plan, plan_s, plan_cpu = timed_cpu(repeat, lambda: budget_plan(engine, config, budget, now=now))
    scores, ranking_s, ranking_cpu = timed_cpu(repeat, lambda: ranking(engine, config, now=now))
    _, reference_s, reference_cpu = timed_cpu(
        1, lambda: journal_scan_plan(engine, config, budget, now)
    )
    matched = reconcile(list_assets(engine), seen_devices(engine)).matched
    _, scan_s = timed(1, lambda: measured_signals(engine, matched, now, JOURNAL_DAYS))
    _, summary_s, summary_cpu = timed_cpu(1, lambda: summarise(engine, config, now))
    assert plan.measurements is not None
    verdict = "OK" if max(plan_s, ranking_s) <= 2 else "MISSED"
    cpu_verdict = "OK" if max(plan_cpu, ranking_cpu) <= 2 else "MISSED"
    print(
        f"  plan from the rollups:    {plan_s:6.3f} s wall, {plan_cpu:6.3f} s CPU "
        f"({plan.replacements:,} replacements of {plan.candidates:,} candidates; "
        f"{plan.measurements.note('en')})"
    )
    print(
        f"  ranking from the rollups: {ranking_s:6.3f} s wall, {ranking_cpu:6.3f} s CPU "
        f"({len(scores):,} assets)   target ≤ 2 s: {verdict} wall, {cpu_verdict} CPU "
        f"(load average {load_average()} on {os.cpu_count()} cores)"
    )
    print(
        f"  reference, plan with saturation scanned from the journal ({JOURNAL_DAYS:g} days): "
        f"{reference_s:.3f} s wall, {reference_cpu:.3f} s CPU → the rollups are "
        f"{reference_s / plan_s:.1f}× faster (wall), {reference_cpu / plan_cpu:.1f}× (CPU)"
    )
    print(
        f"  register figures of /metrics computed (background worker): {summary_s:.3f} s wall, "
        f"{summary_cpu:.3f} s CPU"
    )
    return {"plan_s": plan_s, "ranking_s": ranking_s, "reference_s": reference_s, "scan_s": scan_s}


def over_http(
    settings: Settings, budget: int, repeat: int, scrape_seconds: float, load: Any | None = None
) -> None:
    """``serve`` on the store: /metrics scraped back to back from start, then plan and ranking;
    under the live load when ``load`` (the benchmark's arguments) is given."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "COMMUNE_MONITOR_ADMIN_TOKEN": TOKEN}
    base = [sys.executable, "-m", "province", "--data-dir", str(settings.data_dir)]
    base += ["--log-level", "ERROR"]
    command = [*base, "serve", "--port", str(port), "--no-migrate"]
    processor: subprocess.Popen[bytes] | None = None
    if load is not None:
        # The demo's layout: two serving workers that only ingest, the journal processed by
        # 'process' beside them.
        command += ["--no-processor", "--workers", "2"]
        processor = subprocess.Popen([*base, "process"], env=env)
    server = subprocess.Popen(command, env=env)
    loader: subprocess.Popen[bytes] | None = None
    try:
        wait_http(f"{url}/readyz", timeout=120)
        if load is not None:
            loader = start_load(settings, url, load)
        serving = psutil.Process(server.pid)
        with httpx.Client(base_url=url, timeout=120) as client:
            scrapes: list[float] = []
            first_figures: float | None = None
            cpu_before = _cpu(serving)
            begun = time.perf_counter()
            while time.perf_counter() - begun < scrape_seconds:
                start = time.perf_counter()
                body = client.get("/metrics").text
                scrapes.append(time.perf_counter() - start)
                if first_figures is None and "\ncm_assets{" in body:
                    first_figures = time.perf_counter() - begun
            # The serving process's own CPU per scrape: its idle processor included, not the
            # figures' worker process (a child of its own); under load, the ingest too.
            scrape_cpu = (_cpu(serving) - cpu_before) / max(1, len(scrapes))
            auth = {"Authorization": f"Bearer {TOKEN}"}
            _, plan_s = timed(
                repeat,
                lambda: client.get(
                    "/api/v1/inventory/plan", params={"budget": budget}, headers=auth
                ).raise_for_status(),
            )
            _, ranking_s = timed(
                repeat,
                lambda: client.get(
                    "/api/v1/inventory/ranking", params={"limit": 100_000}, headers=auth
                ).raise_for_status(),
            )
    finally:
        if loader is not None:
            stop(loader)
        stop(server)
        if processor is not None:
            stop(processor)
    if load is not None:
        print(
            "  (the figures below were taken while the fleet reported live, load above, to "
            "'serve --no-processor --workers 2' beside 'process': the demo's layout)"
        )
    worst = max(scrapes)
    verdict = "OK" if worst <= 0.5 else "MISSED"
    slow = [(index, seconds) for index, seconds in enumerate(scrapes) if seconds > 0.5]
    figures = f"{first_figures:.1f} s" if first_figures is not None else "never"
    print(
        f"  GET /metrics: {len(scrapes)} scrapes back to back for {scrape_seconds:g} s from start "
        f"(register figures there after {figures}): median {statistics.median(scrapes):.3f} s, "
        f"worst {worst:.3f} s   target ≤ 0.5 s every scrape: {verdict} "
        f"(load average {load_average()} on {os.cpu_count()} cores)"
        + ("" if load is not None else f"; serving process CPU per scrape {scrape_cpu:.3f} s")
    )
    print(
        f"  scrapes over 0.5 s: {len(slow)} of {len(scrapes)}"
        + (": " + ", ".join(f"#{index + 1} {seconds:.3f} s" for index, seconds in slow[:10]))
        * bool(slow)
        + (f"; worst after the first: {max(scrapes[1:]):.3f} s" if len(scrapes) > 1 else "")
    )
    verdict = "OK" if max(plan_s, ranking_s) <= 2 else "MISSED"
    print(
        f"  GET /api/v1/inventory/plan {plan_s:.3f} s, /ranking (every asset) {ranking_s:.3f} s "
        f"(median of {repeat})   target ≤ 2 s: {verdict}"
    )


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def live_store_figures(args: Any) -> None:
    """Steps 1–4 of the module's docstring."""
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="cm-plan-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"live store: {args.live_days:g} days of history, a report every "
        f"{args.live_step_minutes:g} min per agent, in {workdir}"
    )
    settings, engine = build_store(workdir, args)
    try:
        print(f"  store: {store_contents(engine)}")
        figures = in_process(engine, args.budget, args.repeat)
        if args.scrape_load:
            ensure_identities(
                fleet_with_assets(args.province, args.live_assets, args.seed), settings, engine
            )
    finally:
        engine.dispose()
    over_http(
        settings,
        args.budget,
        args.repeat,
        args.scrape_seconds,
        load=args if args.scrape_load else None,
    )
    print(
        f"  reference for /metrics: a scrape whose cached figures had expired recomputed them, "
        f"scanning the journal first: at least {figures['scan_s']:.1f} s"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="the live load of the scrape phase")
    parser.add_argument("command", choices=["load"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--province", required=True)
    parser.add_argument("--assets", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    cli = parser.parse_args()
    asyncio.run(live_load(cli.url, cli.workdir, cli.province, cli.assets, cli.seed))
