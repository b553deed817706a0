"""Ingest benchmark: simulated agents post realistic batches to a collector on SQLite with durable
acknowledgement (load from wrk with pre-built bodies, so the client is not the bottleneck); the
same samples are pushed in text format to Prometheus Pushgateway as the reference.

    python benchmarks/ingest.py [--seconds 15] [--concurrency 32]

Prints reports/s, samples/s, p50/p99 latency for the collector; samples/s for Pushgateway as
shipped and with --push.disable-consistency-check (1,000 device groups stored beforehand); the
ratios; and the time of /metrics for 5,000 devices. Only 127.0.0.1 is used; every process started
here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collector import agents, communes  # noqa: E402
from collector.communes import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.settings import load_settings  # noqa: E402
from province import migrate  # noqa: E402
from tests.collector.builders import pc_device, snmp_device  # noqa: E402
from tests.services import free_port  # noqa: E402

PC_SHARE = 0.95  # 95 % counter PCs (~30 samples), 5 % site agents (25 devices x 20 samples)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def agent_devices(index: int, site: bool) -> list[dict[str, Any]]:
    if site:
        kinds = ["printer"] * 10 + ["router", "switch", "switch"] + ["camera"] * 12
        return [snmp_device(f"s{index}-d{i}", kinds[i], 20) for i in range(25)]
    return [pc_device(f"pc-{index}")]


class Agent:
    """One simulated agent with its own token and sequence."""

    def __init__(self, agent_id: str, token: str, index: int, site: bool) -> None:
        self.agent_id = agent_id
        self.token = token
        self.devices = agent_devices(index, site)
        self.samples = sum(len(d["samples"]) for d in self.devices)
        self.seq = 0

    def next_body(self, reports: int, now: datetime) -> bytes:
        batch = []
        for _ in range(reports):
            self.seq += 1
            batch.append({"seq": self.seq, "measured_at": now.isoformat(), "devices": self.devices})
        body = {
            "schema_version": 1,
            "agent_id": self.agent_id,
            "sent_at": now.isoformat(),
            "reports": batch,
        }
        return gzip.compress(json.dumps(body).encode(), 1)


# wrk's report, parsed by run_wrk_script: requests, duration and latencies in µs, errors.
WRK_DONE = r"""
function done(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""

WRK_SCRIPT = (
    r"""
local lines = {}
local idx = 0
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local nthreads = tonumber(args[2])
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == (id - 1) then table.insert(lines, line) end
    n = n + 1
  end
end
function request()
  idx = idx + 1
  if idx > #lines then idx = 1 end
  local line = lines[idx]
  local tab = string.find(line, "\t", 1, true)
  return wrk.format("POST", "/api/v1/reports", {
    ["Authorization"] = "Bearer " .. string.sub(line, 1, tab - 1),
    ["Content-Type"] = "application/json"}, string.sub(line, tab + 1))
end
"""
    + WRK_DONE
)


def write_bodies(path: Path, fleet: list[Agent], per_post: int, count: int) -> None:
    """Pre-build ``count`` request bodies, agents interleaved, each agent's in sequence order."""
    now = datetime.now(UTC)
    with path.open("w") as out:
        for n in range(count):
            agent = fleet[n % len(fleet)]
            reports = []
            for _ in range(per_post):
                agent.seq += 1
                reports.append(
                    {"seq": agent.seq, "measured_at": now.isoformat(), "devices": agent.devices}
                )
            body = {
                "schema_version": 1,
                "agent_id": agent.agent_id,
                "sent_at": now.isoformat(),
                "reports": reports,
            }
            out.write(agent.token + "\t" + json.dumps(body, separators=(",", ":")) + "\n")


def ingest_counters(url: str) -> tuple[float, float]:
    """(stored reports, stored samples) from the collector's own /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=60).text
    reports = samples = 0.0
    for line in text.splitlines():
        if line.startswith('cm_ingest_reports_total{result="stored"}'):
            reports = float(line.split()[-1])
        elif line.startswith("cm_ingest_samples_total "):
            samples = float(line.split()[-1])
    return reports, samples


def tree_cpu_seconds(pids: list[int]) -> float:
    """User+system CPU seconds of these processes and all their children (uvicorn workers)."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def drive_collector(
    url: str, body_file: Path, seconds: float, connections: int, workdir: Path, pids: list[int]
) -> dict[str, float]:
    """Load the collector with wrk (a C load generator: the client must not be the bottleneck)."""
    before = ingest_counters(url)
    cpu_before = tree_cpu_seconds(pids)
    requests, elapsed, p50, p99, errors = run_wrk(
        url, WRK_SCRIPT, body_file, seconds, connections, workdir
    )
    cpu = tree_cpu_seconds(pids) - cpu_before
    after = ingest_counters(url)
    reports = after[0] - before[0]
    return {
        "reports_per_s": reports / elapsed,
        "samples_per_s": (after[1] - before[1]) / elapsed,
        "p50_ms": p50,
        "p99_ms": p99,
        "requests": requests,
        "errors": errors,
        "cpu_ms_per_report": 1000 * cpu / max(reports, 1),
    }


def pushgateway_text(device: dict[str, Any]) -> bytes:
    lines = []
    for sample in device["samples"]:
        labels = ",".join(f'{k}="{v}"' for k, v in sample.get("labels", {}).items())
        name = "cm_device_" + sample["name"]
        lines.append(
            f"{name}{{{labels}}} {sample['value']}" if labels else f"{name} {sample['value']}"
        )
    # Pushgateway rejects a family repeated in separate runs; group lines by name.
    lines.sort()
    typed = []
    seen: set[str] = set()
    for line in lines:
        name = line.split("{")[0].split(" ")[0]
        if name not in seen:
            seen.add(name)
            typed.append(f"# TYPE {name} untyped")
        typed.append(line)
    return ("\n".join(typed) + "\n").encode()


PUSH_SCRIPT = (
    r"""
local lines = {}
local idx = 0
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    local body = string.gsub(string.sub(line, tab + 1), "\\n", "\n")
    table.insert(lines, {string.sub(line, 1, tab - 1), body})
  end
end
function request()
  idx = idx + 1
  if idx > #lines then idx = 1 end
  return wrk.format("PUT", lines[idx][1], {["Content-Type"] = "text/plain"}, lines[idx][2])
end
"""
    + WRK_DONE
)


def run_wrk(
    url: str, script_text: str, data: Path, seconds: float, connections: int, workdir: Path
) -> tuple[int, float, float, float, int]:
    """Run wrk with a Lua script: (requests, elapsed s, p50 ms, p99 ms, errors)."""
    script = workdir / "load.lua"
    script.write_text(script_text)
    return run_wrk_script(url, script, data, seconds, connections, ["1"])


def run_wrk_script(
    url: str, script: Path, data: Path, seconds: float, connections: int, extra: list[str]
) -> tuple[int, float, float, float, int]:
    """One wrk run of a script ending in WRK_DONE, with arguments ``data`` and ``extra``:
    (requests, elapsed s, p50 ms, p99 ms, errors)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    result = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
            "--",
            str(data),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")
    requests, duration_us, p50_us, p99_us, errors = (int(x) for x in line.split()[1:])
    return requests, duration_us / 1e6, p50_us / 1000, p99_us / 1000, errors


def write_push_data(path: Path, fleet: list[Agent]) -> list[int]:
    """One line per device for PUSH_SCRIPT (group path, tab, text body with newlines escaped);
    returns each line's sample count."""
    counts = []
    with path.open("w") as out:
        for agent in fleet:
            for device in agent.devices:
                text = pushgateway_text(device).decode().replace("\n", "\\n")
                out.write(f"/metrics/job/cm/instance/{device['device_id']}\t{text}\n")
                counts.append(len(device["samples"]))
    return counts


def pushgateway_binary() -> str | None:
    return shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")


def drive_pushgateway(
    url: str, fleet: list[Agent], seconds: float, concurrency: int, workdir: Path
) -> dict[str, float]:
    """The same device payloads PUT by wrk, one group per device (Pushgateway's unit of state)."""
    data = workdir / "push.txt"
    counts = write_push_data(data, fleet)
    requests, elapsed, _p50, p99, errors = run_wrk(
        url, PUSH_SCRIPT, data, seconds, concurrency, workdir
    )
    # wrk cycles through the payloads in order: the samples pushed follow from the count.
    pushed = sum(counts[i % len(counts)] for i in range(requests - errors))
    return {
        "samples_per_s": pushed / elapsed,
        "pushes_per_s": (requests - errors) / elapsed,
        "p99_ms": p99,
        "errors": errors,
    }


def run_pushgateway(
    fleet: list[Agent], seconds: float, concurrency: int, fast: bool, workdir: Path
) -> dict[str, float]:
    binary = pushgateway_binary()
    if binary is None:
        raise SystemExit(
            "prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway)"
        )
    port = free_port()
    args = [binary, f"--web.listen-address=127.0.0.1:{port}"]
    if fast:
        args.append("--push.disable-consistency-check")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready")
        # 1,000 device groups already stored, as a province's state would be.
        seed = [Agent("x", "x", i, site=False) for i in range(1000)]

        async def preload() -> None:
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                for agent in seed:
                    device = agent.devices[0]
                    await client.put(
                        f"/metrics/job/cm/instance/seed-{device['device_id']}",
                        content=pushgateway_text(device),
                    )

        asyncio.run(preload())
        return drive_pushgateway(url, fleet, seconds, concurrency, workdir)
    finally:
        stop(proc)


def time_metrics(devices: int, workdir: Path) -> float:
    """Seconds for one /metrics rendering with ``devices`` devices in current state."""
    from prometheus_client import CollectorRegistry

    from agent.wire import ReportBatch
    from collector.ingest import store_batch
    from province.service import build_service

    settings = load_settings(data_dir=workdir / "metrics")
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, "37"))
    service = build_service(settings, registry=CollectorRegistry(), engine=engine)
    now = datetime.now(UTC)
    commune_codes = [r["commune_code"] for r in communes.read_units(BUNDLED_UNITS, "37")]
    per_agent = 25
    for start in range(0, devices, per_agent):
        code = commune_codes[(start // per_agent) % len(commune_codes)]
        token = agents.create_enrol_token(engine, code, now, timedelta(hours=1))
        ident = agents.enrol(engine, token, "bench", "1", now)
        devs = [pc_device(f"pc-{start + i}") for i in range(per_agent)]
        body = ReportBatch.model_validate(
            {
                "schema_version": 1,
                "agent_id": ident.agent_id,
                "sent_at": now.isoformat(),
                "reports": [{"seq": 1, "measured_at": now.isoformat(), "devices": devs}],
            }
        )
        with engine.begin() as conn:
            store_batch(
                conn, agents.authenticate(engine, ident.agent_token), body, now, timedelta(0), 1000
            )
    service.processor.drain()
    service.exposition()
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        payload = service.exposition()
        runs.append(time.perf_counter() - started)
    series = payload.count(b"\n")
    print(
        f"/metrics for {devices} devices: {series} lines, best {min(runs):.3f} s, "
        f"median {statistics.median(runs):.3f} s (target <= 0.5 s)"
    )
    engine.dispose()
    return min(runs)


def collector_command(workdir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "province",
        "--data-dir",
        str(workdir),
        "--log-level",
        "WARNING",
        *list(args),
    ]


def run_collector(
    workdir: Path, fleet: list[Agent], layout: str, per_post: int, args: argparse.Namespace
) -> dict[str, float]:
    """Start the collector in ``layout``, load it with ``per_post`` reports per POST, stop it."""
    port = free_port()
    serve = ["serve", "--port", str(port), "--no-migrate"]
    procs = []
    if layout in ("separate", "workers2"):
        serve.append("--no-processor")
        procs.append(subprocess.Popen(collector_command(workdir, "process")))
        if layout == "workers2":
            serve += ["--workers", "2"]
    elif layout != "inline":
        raise SystemExit(f"unknown layout {layout!r}: inline, separate or workers2")
    procs.append(subprocess.Popen(collector_command(workdir, *serve)))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/readyz")
        bodies = workdir / f"bodies-{per_post}.txt"
        write_bodies(bodies, fleet, per_post, args.bodies // per_post)
        try:
            return drive_collector(
                url, bodies, args.seconds, args.concurrency, workdir, [p.pid for p in procs]
            )
        finally:
            bodies.unlink()
    finally:
        for proc in reversed(procs):
            stop(proc)


def enrol_fleet(workdir: Path, count: int, version: str, rng: random.Random) -> list[Agent]:
    """A migrated SQLite store in ``workdir`` with province 37's communes and ``count`` agents
    enrolled round-robin over them (PC_SHARE of them counter PCs), returned in a shuffled order."""
    settings = load_settings(data_dir=workdir)
    engine = make_engine(settings)
    migrate.upgrade(engine)
    units = communes.read_units(BUNDLED_UNITS, "37")
    communes.load_units(engine, units)
    codes = [r["commune_code"] for r in units]
    now = datetime.now(UTC)
    fleet = []
    for i in range(count):
        token = agents.create_enrol_token(engine, codes[i % len(codes)], now, timedelta(hours=1))
        ident = agents.enrol(engine, token, f"pc-{i}", version, now)
        fleet.append(Agent(ident.agent_id, ident.agent_token, i, site=rng.random() > PC_SHARE))
    engine.dispose()
    rng.shuffle(fleet)
    return fleet


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each run")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent connections")
    parser.add_argument("--agents", type=int, default=400, help="simulated agents")
    parser.add_argument("--metrics-devices", type=int, default=5000)
    parser.add_argument("--bodies", type=int, default=30000, help="pre-built request bodies")
    parser.add_argument(
        "--layouts",
        default="inline,separate",
        help="collector layouts, comma-separated: inline (serve, processor in the same process), "
        "separate (serve --no-processor plus a 'process' process), workers2 (as separate, with "
        "two uvicorn workers)",
    )
    args = parser.parse_args()
    rng = random.Random(7)

    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-"))
    try:
        fleet = enrol_fleet(workdir, args.agents, "bench", rng)
        mean_samples = statistics.mean(a.samples for a in fleet)
        print(
            f"fleet: {len(fleet)} agents, {sum(a.samples > 100 for a in fleet)} site agents, "
            f"{mean_samples:.1f} samples per report on average; SQLite synchronous=FULL"
        )

        results = {}
        for layout in args.layouts.split(","):
            for per_post in (1, 10):
                r = run_collector(workdir, fleet, layout, per_post, args)
                results[(layout, per_post)] = r
                print(
                    f"collector {layout:>9}, {per_post:>2} report(s)/POST: "
                    f"{r['reports_per_s']:6.0f} reports/s {r['samples_per_s']:7.0f} samples/s  "
                    f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
                    f"{r['cpu_ms_per_report']:.2f} CPU ms/report  "
                    f"({r['requests']} requests, {r['errors']} errors)"
                )

        shipped = run_pushgateway(
            fleet, args.seconds, args.concurrency, fast=False, workdir=workdir
        )
        print(
            f"pushgateway as shipped:      {shipped['samples_per_s']:9.0f} samples/s "
            f"({shipped['pushes_per_s']:.0f} pushes/s, p99 {shipped['p99_ms']:.1f} ms, "
            f"{shipped['errors']} errors)"
        )
        fast = run_pushgateway(fleet, args.seconds, args.concurrency, fast=True, workdir=workdir)
        print(
            f"pushgateway consistency off: {fast['samples_per_s']:9.0f} samples/s "
            f"({fast['pushes_per_s']:.0f} pushes/s, p99 {fast['p99_ms']:.1f} ms, "
            f"{fast['errors']} errors)"
        )
        steady = max(
            (r for (_, n), r in results.items() if n == 1), key=lambda r: r["samples_per_s"]
        )
        print(
            f"ratio collector(1/POST)/pushgateway samples/s: as shipped "
            f"{steady['samples_per_s'] / max(shipped['samples_per_s'], 1e-9):.2f}, "
            f"fastest mode {steady['samples_per_s'] / max(fast['samples_per_s'], 1e-9):.2f}"
        )
        time_metrics(args.metrics_devices, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
