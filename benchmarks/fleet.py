"""Fleet benchmark: how many simulated devices one core drives through the real ingest, and how
fast history back-fills. The reference is wrk (C) replaying pre-built bodies of the same reports.

    python benchmarks/fleet.py [--province 79] [--devices 5000] [--backfill-days 30]
                               [--backfill-share 0.05] [--live-steps 3] [--wrk-seconds 10]

A collector (``commune-monitor serve``, SQLite, durable acknowledgement) runs as a child process on
127.0.0.1; the simulator runs here with the real agent spool and sender per agent. Printed:

- live: CPU of the simulator per step of every agent (one report each), the share of a core that
  a 60 s interval needs, and the devices one core could drive in real time; the collector's CPU;
- back-fill: reports/s through the real ingest (and until the journal is processed), projected to
  30 days of the fleet at the hourly step and at a 4-hour step, against the 5-minute target;
- reference: wrk posting pre-built bodies of the same per-agent reports: client CPU per request
  against the simulator's, and the ratio.

Run time is bounded by the options (about two minutes with the defaults). Only 127.0.0.1 is
used; the collector is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.checks.base import SystemClock  # noqa: E402
from agent.wire import SCHEMA_VERSION  # noqa: E402
from benchmarks.ingest import WRK_SCRIPT, run_wrk, stop, tree_cpu_seconds, wait_http  # noqa: E402
from collector import communes, migrate  # noqa: E402
from collector.cli import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.settings import load_settings  # noqa: E402
from collector.sim import Driver, FaultView, Fleet, generate_fleet  # noqa: E402
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


def wait_processed(url: str, stored: float, limit: float) -> float:
    """Seconds until the processor has consumed ``stored`` journal entries (bounded)."""
    begun = time.monotonic()
    while time.monotonic() - begun < limit:
        if metric(url, "cm_processor_reports_total") >= stored:
            return time.monotonic() - begun
        time.sleep(0.5)
    return float("nan")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_collector(workdir: Path, province: str) -> tuple[subprocess.Popen[bytes], str]:
    """A migrated store with the province's communes, served by ``commune-monitor serve``."""
    engine = make_engine(load_settings(data_dir=workdir))
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, province))
    engine.dispose()
    port = free_port()
    collector = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collector",
            "--data-dir",
            str(workdir),
            "--log-level",
            "ERROR",
            "serve",
            "--port",
            str(port),
        ]
    )
    return collector, f"http://127.0.0.1:{port}"


async def bench(
    args: argparse.Namespace, workdir: Path, collector: subprocess.Popen[bytes], url: str
) -> None:
    fleet = fleet_of(args.province, args.devices, args.seed)
    print(
        f"fleet: province {fleet.province_code} {fleet.province_name}, "
        f"{len(fleet.communes)} communes, {len(fleet.agents)} agents, {len(fleet.devices)} devices"
    )
    engine = make_engine(load_settings(data_dir=workdir))
    clock = SystemClock()
    driver = Driver(fleet, base_url=url, spool_dir=workdir / "spools", clock=clock, concurrency=64)
    try:
        wait_http(f"{url}/readyz")
        begun = time.perf_counter()
        driver.enrol(engine)
        print(f"enrol: {len(driver.runtimes)} agents in {time.perf_counter() - begun:.1f} s")

        # -- back-fill ----------------------------------------------------------------------
        # Every k-th agent back-fills the whole 30 days: batches as large as the real run's
        # (720 hourly reports an agent), in a bounded time; the fleet's time is projected.
        every = max(1, round(1 / args.backfill_share))
        sample = driver.runtimes[::every]
        days = args.backfill_days
        end = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
        cpu0, ccpu0 = time.process_time(), tree_cpu_seconds([collector.pid])
        result = await driver.backfill(end - timedelta(days=days), end, only=sample)
        cpu, ccpu = time.process_time() - cpu0, tree_cpu_seconds([collector.pid]) - ccpu0
        stored = metric(url, "cm_ingest_reports_total")
        lag = wait_processed(url, stored, limit=600)
        rate = result.reports / result.seconds
        scale = len(driver.runtimes) / len(sample)
        project_1h = result.seconds * scale * 30 / days
        project_4h = project_1h / 4
        print(
            f"back-fill: {len(sample)} of {len(driver.runtimes)} agents, {days:g} days hourly: "
            f"{result.reports:,} reports ({result.samples:,} samples) in {result.seconds:.1f} s "
            f"= {rate:,.0f} reports/s; journal processed {lag:.1f} s later; "
            f"refused {len(result.failures)}"
        )
        print(
            f"  CPU: simulator {cpu:.1f} s, collector {ccpu:.1f} s "
            f"({1000 * (cpu + ccpu) / max(result.reports, 1):.2f} ms per report in all)"
        )
        print(
            f"  30 days of the whole fleet: hourly {project_1h / 60:.1f} min, every 4 h "
            f"{project_4h / 60:.1f} min (target {TARGET_BACKFILL_SECONDS / 60:.0f} min; "
            "ingest only, processing follows)"
        )

        # -- live ---------------------------------------------------------------------------
        begun = time.perf_counter()
        driver.open_spools()
        print(f"open spools: {time.perf_counter() - begun:.1f} s")
        await driver.step()  # Warm-up: connections, caches.
        cpu0, ccpu0, wall0 = (
            time.process_time(),
            tree_cpu_seconds([collector.pid]),
            time.perf_counter(),
        )
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
        cpu, ccpu = time.process_time() - cpu0, tree_cpu_seconds([collector.pid]) - ccpu0
        per_step = cpu / args.live_steps
        share = per_step / 60.0
        per_core = len(fleet.devices) / share if share else float("inf")
        print(
            f"live: {args.live_steps} steps of {len(fleet.agents)} agents back to back in "
            f"{wall:.1f} s; simulator CPU {per_step:.2f} s per step "
            f"({1000 * cpu / reports:.2f} ms per report), collector CPU "
            f"{ccpu / args.live_steps:.2f} s per step"
        )
        print(
            f"  at 60 s intervals the simulator needs {share:.1%} of a core for "
            f"{len(fleet.devices):,} devices (target < {TARGET_LIVE_CORE_SHARE:.0%}); "
            f"one core drives {per_core:,.0f} devices in real time"
        )

        # -- reference: wrk replaying the same reports, pre-built ---------------------------
        body_file = workdir / "bodies.txt"
        now = clock.now()
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
            url, WRK_SCRIPT, body_file, args.wrk_seconds, 64, workdir
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
        summary = {
            "devices": len(fleet.devices),
            "agents": len(fleet.agents),
            "backfill_reports_per_s": round(rate),
            "backfill_30d_hourly_min": round(project_1h / 60, 1),
            "live_core_share_60s": round(share, 4),
            "devices_per_core_realtime": round(per_core),
            "sim_ms_per_report": round(sim_ms, 3),
            "wrk_ms_per_post": round(wrk_ms, 3),
        }
        print("summary: " + json.dumps(summary))
    finally:
        await driver.aclose()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", default="79", help="province code (79: the largest)")
    parser.add_argument("--devices", type=int, default=5000, help="devices in the fleet (about)")
    parser.add_argument("--backfill-days", type=float, default=30.0)
    parser.add_argument(
        "--backfill-share", type=float, default=0.05, help="share of agents that back-fill"
    )
    parser.add_argument("--live-steps", type=int, default=3)
    parser.add_argument("--wrk-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="cm-fleet-bench-") as tmp:
        collector, url = start_collector(Path(tmp), args.province)
        try:
            asyncio.run(bench(args, Path(tmp), collector, url))
        finally:
            stop(collector)
    print(f"benchmark ran {(datetime.now(UTC) - started).total_seconds():.0f} s")


if __name__ == "__main__":
    main()
