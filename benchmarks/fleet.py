"""Fleet benchmark: how many simulated devices one core drives through the real ingest, and how
fast history back-fills. The reference is wrk (C) replaying pre-built bodies of the same reports.

    python benchmarks/fleet.py [--province 79] [--devices 5000] [--layout separate]
                               [--backfill-days 30] [--backfill-step-minutes 60]
                               [--backfill-share 1] [--backfill-concurrency 8]
                               [--live-steps 3] [--wrk-seconds 10]

The collector (SQLite, durable acknowledgement) runs as child processes on 127.0.0.1 in one of
three layouts: ``inline`` (``commune-monitor serve`` alone), ``separate`` (``serve
--no-processor`` beside ``commune-monitor process``, the default: one core each) or ``workers2``
(two ingest workers beside ``process``). The simulator runs here. Printed:

- back-fill: every agent's history posted through the HTTP ingest (a month of one agent per
  POST), timed **end to end**: from the first report generated until the processor's cursor
  reaches the newest journal entry, i.e. until every report is in the journal *and* has gone
  through device state, events and the alert engine (the consumers run in the processor's
  transaction). Also the CPU per report of the simulator, the ingest and the processor, and an
  exactly-once check of the journal (every agent holds sequences 1..n once each). By default the
  whole fleet back-fills, so the 30-day figure is measured; with ``--backfill-share`` below 1 it
  is a linear projection from a sample of agents, printed as such (a sample is optimistic: every
  k-th agent under-represents the site agents with 25 devices, and per-batch costs of the
  processor grow with the number of devices it tracks);
- live: CPU of the simulator per step of every agent (one report each, through its spool and
  sender), the share of a core that a 60 s interval needs, the devices one core could drive in
  real time, and the collector's CPU;
- reference: wrk posting pre-built bodies of the same per-agent reports: client CPU per request
  against the simulator's, and the ratio.

The load average is printed before and after, since the machine may be shared. Run time is
bounded by the options (with the defaults about 8 minutes: the back-fill, three live steps and
10 s of wrk). Only 127.0.0.1 is used; every collector process is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from sqlalchemy import Engine, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.clock import SystemClock  # noqa: E402
from agent.wire import SCHEMA_VERSION  # noqa: E402
from benchmarks.ingest import WRK_SCRIPT, run_wrk, stop, tree_cpu_seconds, wait_http  # noqa: E402
from benchmarks.machine import CALIBRATION_ITERATIONS, load_average, python_loop_seconds  # noqa: E402
from collector import communes  # noqa: E402
from collector.communes import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.schema import cursors, device_state, journal  # noqa: E402
from collector.settings import load_settings  # noqa: E402
from province import migrate  # noqa: E402
from sim import Driver, FaultView, Fleet, generate_fleet  # noqa: E402
from sim.driver import BACKFILL_CONCURRENCY  # noqa: E402
from tests.services import free_port  # noqa: E402

TARGET_LIVE_CORE_SHARE = 0.5  # 5,000 devices at 60 s with under half a core
TARGET_BACKFILL_SECONDS = 300.0  # 30 days of 5,000 devices in 5 minutes on 2 cores


def fleet_of(province: str, devices: int, seed: int) -> Fleet:
    """The first communes of ``province`` holding at least ``devices`` devices."""
    whole = generate_fleet(BUNDLED_UNITS, province, seed=seed)
    total = 0
    for count, commune in enumerate(whole.communes, start=1):
        total += len(commune.devices)
        if total >= devices:
            return generate_fleet(BUNDLED_UNITS, province, seed=seed, max_communes=count)
    return whole


def metric(url: str, name: str) -> float:
    """The sum of one metric family's samples on the collector's /metrics."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=120).text.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.split()[-1])
    return total


def journal_progress(engine: Engine) -> tuple[int, int]:
    """(highest journal id, the processor's cursor): processed once they are equal.

    Read from the store rather than from /metrics, so that it means the same whichever process
    holds the processor."""
    with engine.connect() as conn:
        top = conn.execute(select(func.max(journal.c.id))).scalar_one() or 0
        position = conn.execute(
            select(cursors.c.position).where(cursors.c.name == "processor")
        ).scalar_one_or_none()
    return int(top), int(position or 0)


def wait_processed(engine: Engine, limit: float) -> float:
    """Seconds until the processor's cursor reaches the newest journal entry (bounded)."""
    begun = time.monotonic()
    while time.monotonic() - begun < limit:
        top, position = journal_progress(engine)
        if position >= top:
            return time.monotonic() - begun
        time.sleep(0.25)
    return float("nan")


def exactly_once(engine: Engine, posted: dict[str, int]) -> list[str]:
    """Problems with the journal: each back-filled agent must hold sequences 1..n once each."""
    problems = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                journal.c.agent_id,
                func.count(),
                func.count(func.distinct(journal.c.seq)),
                func.min(journal.c.seq),
                func.max(journal.c.seq),
            ).group_by(journal.c.agent_id)
        ).all()
    found = {row[0]: tuple(row[1:]) for row in rows}
    for agent_id, count in posted.items():
        if found.get(agent_id) != (count, count, 1, count):
            problems.append(
                f"{agent_id}: posted 1..{count}, journal (n, distinct, min, max) "
                f"{found.get(agent_id)}"
            )
    problems += [
        f"{agent_id}: in the journal, never posted" for agent_id in set(found) - set(posted)
    ]
    return problems


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Collector:
    """The collector's processes in one layout: who ingests, who processes."""

    url: str
    ingest: subprocess.Popen[bytes]
    processor: subprocess.Popen[bytes] | None

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        """Every process of the collector, the processor last."""
        return [self.ingest] + ([self.processor] if self.processor is not None else [])

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of (ingest, processing); inline, all of it counts as ingest."""
        ingest = tree_cpu_seconds([self.ingest.pid])
        processing = tree_cpu_seconds([self.processor.pid]) if self.processor else 0.0
        return ingest, processing


LAYOUTS = {
    # serve alone: ingest and journal processing share one process (one core, the GIL).
    "inline": ((), False),
    # serve --no-processor beside commune-monitor process: one core each (README, deployment).
    "separate": (("--no-processor",), True),
    # two uvicorn workers that only ingest, beside commune-monitor process.
    "workers2": (("--no-processor", "--workers", "2"), True),
}


def start_collector(workdir: Path, province: str, layout: str, synchronous: str) -> Collector:
    """A migrated store with the province's communes, served in ``layout``."""
    engine = make_engine(load_settings(data_dir=workdir))
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, province))
    engine.dispose()
    serve_args, separate = LAYOUTS[layout]
    port = free_port()
    base = [sys.executable, "-m", "province", "--data-dir", str(workdir), "--log-level", "ERROR"]
    env = {**os.environ, "COMMUNE_MONITOR_SQLITE_SYNCHRONOUS": synchronous}
    serve = [*base, "serve", "--port", str(port), "--no-migrate", *serve_args]
    ingest = subprocess.Popen(serve, env=env)
    processor = subprocess.Popen([*base, "process"], env=env) if separate else None
    return Collector(f"http://127.0.0.1:{port}", ingest, processor)


async def run_backfill(
    args: argparse.Namespace, driver: Driver, engine: Engine, collector: Collector
) -> dict[str, float]:
    """Back-fill (part of) the fleet and time it until the journal is processed."""
    every = max(1, round(1 / args.backfill_share))
    sample = driver.runtimes[::every]
    days = args.backfill_days
    step = args.backfill_step_minutes * 60.0
    end = driver.clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    print(f"back-fill: load average before {load_average()}")
    sim0, (ingest0, proc0), begun = time.process_time(), collector.cpu(), time.perf_counter()
    result = await driver.backfill(
        end - timedelta(days=days),
        end,
        step_seconds=step,
        only=sample,
        concurrency=args.backfill_concurrency,
    )
    ingested = time.perf_counter() - begun
    lag = wait_processed(engine, limit=args.process_limit)
    total = time.perf_counter() - begun
    sim = time.process_time() - sim0
    ingest1, proc1 = collector.cpu()
    ingest, processing = ingest1 - ingest0, proc1 - proc0
    reports = max(result.reports, 1)
    problems = exactly_once(engine, {r.agent_id: r.next_seq - 1 for r in sample})
    with engine.connect() as conn:
        states = conn.execute(select(func.count()).select_from(device_state)).scalar_one()
    devices = sum(len(r.agent.devices) for r in sample)
    print(
        f"back-fill: {len(sample)} of {len(driver.runtimes)} agents ({devices:,} devices), "
        f"{days:g} days every {args.backfill_step_minutes:g} min: {result.reports:,} reports "
        f"({result.samples:,} samples, {result.posts:,} POSTs) through HTTP ingest in "
        f"{ingested:.1f} s, processed (device state, events, alerts) {lag:.1f} s later"
    )
    print(
        f"  end to end {total:.1f} s = {result.reports / total:,.0f} reports/s; "
        f"load average after {load_average()}"
    )
    print(
        f"  CPU ms per report: simulator {1000 * sim / reports:.3f}, ingest "
        f"{1000 * ingest / reports:.3f}, processing {1000 * processing / reports:.3f} "
        f"(layout {args.layout}, SQLite synchronous={args.synchronous}; inline counts "
        "processing as ingest); "
        f"{(sim + ingest + processing) / total:.2f} cores busy on average"
    )
    print(
        f"  exactly once: {'yes' if not problems else 'NO'} (journal holds 1..n of every agent); "
        f"device_state rows {states:,} of {devices:,} devices; POSTs resent {result.retries} "
        f"(finding {result.duplicates} reports already stored), refused {len(result.failures)}"
    )
    for problem in (problems + result.failures)[:5]:
        print(f"    {problem}")
    scale = (len(driver.runtimes) / len(sample)) * (30.0 / days)
    whole = total * scale
    if scale != 1.0:
        print(
            f"  30 days of the whole fleet, projected linearly from this sample (x{scale:.1f}): "
            f"{whole / 60:.1f} min end to end (target {TARGET_BACKFILL_SECONDS / 60:.0f} min); "
            "a projection, run --backfill-share 1 --backfill-days 30 to measure it"
        )
    else:
        verdict = "met" if total <= TARGET_BACKFILL_SECONDS else "NOT met"
        print(
            f"  30 days of the whole fleet measured: {total / 60:.2f} min end to end "
            f"(target {TARGET_BACKFILL_SECONDS / 60:.0f} min: {verdict})"
        )
    return {
        "backfill_reports": result.reports,
        "backfill_ingest_s": round(ingested, 1),
        "backfill_end_to_end_s": round(total, 1),
        "backfill_30d_fleet_min": round(whole / 60, 2),
        "backfill_projected": scale != 1.0,
        "backfill_exactly_once": not problems and not result.failures,
        "sim_ms": round(1000 * sim / reports, 3),
        "ingest_ms": round(1000 * ingest / reports, 3),
        "processing_ms": round(1000 * processing / reports, 3),
    }


async def run_live(
    args: argparse.Namespace, driver: Driver, collector: Collector
) -> dict[str, float]:
    """Live steps of every agent through its spool and sender; then wrk as the reference."""
    begun = time.perf_counter()
    driver.open_spools()
    print(f"open spools: {time.perf_counter() - begun:.1f} s")
    await driver.step()  # Warm-up: connections, caches.
    cpu0, (ingest0, proc0), wall0 = time.process_time(), collector.cpu(), time.perf_counter()
    reports = failures = 0
    for _ in range(args.live_steps):
        step = await driver.step()
        reports += step.reports
        failures += step.send_failures
    wall = time.perf_counter() - wall0
    if failures:
        # A failed send keeps its reports in the spool for the next step, as on a real PC.
        send_errors = {
            r.sender.last_error for r in driver.runtimes if r.sender and r.sender.last_error
        }
        print(f"  {failures} sends failed and were retried later: {sorted(send_errors)[:3]}")
    cpu = time.process_time() - cpu0
    ingest1, proc1 = collector.cpu()
    ccpu = (ingest1 - ingest0) + (proc1 - proc0)
    per_step = cpu / args.live_steps
    share = per_step / 60.0
    per_core = len(driver.fleet.devices) / share if share else float("inf")
    print(
        f"live: {args.live_steps} steps of {len(driver.runtimes)} agents back to back in "
        f"{wall:.1f} s; simulator CPU {per_step:.2f} s per step "
        f"({1000 * cpu / reports:.2f} ms per report), collector CPU "
        f"{ccpu / args.live_steps:.2f} s per step"
    )
    print(
        f"  at 60 s intervals the simulator needs {share:.1%} of a core for "
        f"{len(driver.fleet.devices):,} devices (target < {TARGET_LIVE_CORE_SHARE:.0%}); "
        f"one core drives {per_core:,.0f} devices in real time"
    )

    # -- reference: wrk replaying the same reports, pre-built -------------------------------
    body_file = args.workdir / "bodies.txt"
    now = driver.clock.now()
    view = FaultView()
    with body_file.open("w") as out:
        for runtime in driver.runtimes:
            assert runtime.spool is not None
            seq = runtime.spool.stats().next_seq + 10
            devices = driver.behaviour.agent_report(runtime.agent, now, 60.0, view)
            body = {
                "schema_version": SCHEMA_VERSION,
                "agent_id": runtime.agent_id,
                "sent_at": now.isoformat(),
                "reports": [{"seq": seq, "measured_at": now.isoformat(), "devices": devices}],
            }
            out.write(runtime.token + "\t" + orjson.dumps(body).decode() + "\n")
    wrk_cpu0 = children_cpu()
    requests, elapsed, p50, p99, errors = run_wrk(
        collector.url, WRK_SCRIPT, body_file, args.wrk_seconds, 64, args.workdir
    )
    wrk_cpu = children_cpu() - wrk_cpu0
    wrk_ms = 1000 * wrk_cpu / max(requests, 1)
    sim_ms = 1000 * cpu / reports
    print(
        f"wrk (reference): {requests:,} posts of one report in {elapsed:.1f} s "
        f"({requests / elapsed:,.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {errors}); "
        f"client CPU {wrk_ms:.3f} ms per post"
    )
    print(
        f"ratio: the simulator spends {sim_ms / max(wrk_ms, 1e-9):.1f}x wrk's client CPU per "
        "report (it also measures, spools durably and acknowledges)"
    )
    return {
        "live_core_share_60s": round(share, 4),
        "devices_per_core_realtime": round(per_core),
        "sim_live_ms_per_report": round(sim_ms, 3),
        "wrk_ms_per_post": round(wrk_ms, 3),
    }


async def bench(args: argparse.Namespace, collector: Collector) -> None:
    fleet = fleet_of(args.province, args.devices, args.seed)
    print(
        f"fleet: province {fleet.province_code} {fleet.province_name}, "
        f"{len(fleet.communes)} communes, {len(fleet.agents)} agents, {len(fleet.devices)} devices"
    )
    engine = make_engine(load_settings(data_dir=args.workdir))
    driver = Driver(
        fleet,
        base_url=collector.url,
        spool_dir=args.workdir / "spools",
        clock=SystemClock(),
        concurrency=args.concurrency,
    )
    summary: dict[str, object] = {
        "devices": len(fleet.devices),
        "agents": len(fleet.agents),
        "layout": args.layout,
        "synchronous": args.synchronous,
        "python_loop_s": round(args.loop_seconds, 3),
    }
    try:
        wait_http(f"{collector.url}/readyz")
        begun = time.perf_counter()
        driver.enrol(engine)
        print(f"enrol: {len(driver.runtimes)} agents in {time.perf_counter() - begun:.1f} s")
        if args.backfill_days > 0:
            summary.update(await run_backfill(args, driver, engine, collector))
        if args.live_steps > 0:
            summary.update(await run_live(args, driver, collector))
        print("summary: " + json.dumps(summary))
    finally:
        await driver.aclose()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", default="79", help="province code (79: the largest)")
    parser.add_argument("--devices", type=int, default=5000, help="devices in the fleet (about)")
    parser.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        default="separate",
        help="collector processes: inline (serve alone), separate (serve --no-processor beside "
        "process), workers2 (two ingest workers beside process)",
    )
    parser.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite durability of the collector: FULL (the default setting: an acknowledged "
        "report survives a power cut) or NORMAL (only a process crash; one fsync per commit less)",
    )
    parser.add_argument("--backfill-days", type=float, default=30.0, help="0: no back-fill")
    parser.add_argument("--backfill-step-minutes", type=float, default=60.0)
    parser.add_argument(
        "--backfill-share",
        type=float,
        default=1.0,
        help="share of agents that back-fill (below 1 the whole fleet is projected linearly)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="agents posting at once in the live run"
    )
    parser.add_argument(
        "--backfill-concurrency",
        type=int,
        default=BACKFILL_CONCURRENCY,
        help="agents back-filling at once (each POST is up to a month of one agent's reports)",
    )
    parser.add_argument(
        "--process-limit", type=float, default=900.0, help="longest wait for the processor (s)"
    )
    parser.add_argument("--live-steps", type=int, default=3, help="0: no live run, no wrk")
    parser.add_argument("--wrk-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = datetime.now(UTC)
    loop_seconds = python_loop_seconds()
    print(
        f"load average at start {load_average()}; a {CALIBRATION_ITERATIONS:,}-iteration Python "
        f"loop takes {loop_seconds:.2f} s CPU here (compare figures across runs with it)"
    )
    args.loop_seconds = loop_seconds
    with tempfile.TemporaryDirectory(prefix="cm-fleet-bench-") as tmp:
        args.workdir = Path(tmp)
        collector = start_collector(args.workdir, args.province, args.layout, args.synchronous)
        try:
            asyncio.run(bench(args, collector))
        finally:
            for proc in reversed(collector.processes):
                stop(proc)
    print(f"benchmark ran {(datetime.now(UTC) - started).total_seconds():.0f} s")


if __name__ == "__main__":
    main()
