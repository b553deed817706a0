"""Soak of the ingest path: a collector (SQLite, durable acks, processor inline) under 10x a
province's report rate for a bounded time, with memory and latency recorded every minute; the
same samples pushed to Prometheus Pushgateway at the same pace for a shorter reference run.

    python benchmarks/soak.py [--minutes 10] [--factor 10] [--agents 2300]

A province (DESIGN.md "Scale") is ~5,000 devices: with this fleet mix (95 % counter PCs, 5 % site
agents of 25 devices, as benchmarks/ingest.py) that is ~2,300 agents, each posting a report every
60 s. wrk (C) paces the load with a per-connection delay re-tuned every minute; every request is a
new report (sequence numbers and times made in wrk's Lua), so nothing is a duplicate.

Printed per minute: batches/s, p50/p99 (wrk's), errors (non-2xx or socket), the collector's RSS
(process tree) and the journal queue depth; then growth of RSS from the second to the last
minute, and the reference's figures and ratios. Only 127.0.0.1; every process started here is
stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import (  # noqa: E402
    WRK_DONE,
    Agent,
    collector_command,
    enrol_fleet,
    ingest_counters,
    pushgateway_binary,
    run_wrk_script,
    stop,
    wait_http,
    write_push_data,
)

from tests.services import free_port  # noqa: E402

CONNECTIONS = 32

# Lines: token \t agent id \t devices JSON. args: file, pause ms, first sequence - 1.
SOAK_SCRIPT = (
    r"""
local agents = {}
local idx = 0
local pause = 0
function init(args)
  pause = tonumber(args[2])
  local base = tonumber(args[3])
  for line in io.lines(args[1]) do
    local t1 = string.find(line, "\t", 1, true)
    local t2 = string.find(line, "\t", t1 + 1, true)
    table.insert(agents, {token = string.sub(line, 1, t1 - 1),
      id = string.sub(line, t1 + 1, t2 - 1), devices = string.sub(line, t2 + 1), seq = base})
  end
end
function delay()
  return pause
end
function request()
  idx = idx + 1
  if idx > #agents then idx = 1 end
  local a = agents[idx]
  a.seq = a.seq + 1
  local now = os.date("!%Y-%m-%dT%H:%M:%S+00:00")
  -- oldest_unacked_seq = seq, as a real agent with an empty spool sends: the sequence jump
  -- between minutes (a new base) is then acknowledged at once, as after a spool reset.
  local body = '{"schema_version":1,"agent_id":"' .. a.id .. '","sent_at":"' .. now ..
    '","oldest_unacked_seq":' .. a.seq .. ',"reports":[{"seq":' .. a.seq ..
    ',"measured_at":"' .. now .. '","devices":' .. a.devices .. '}]}'
  return wrk.format("POST", "/api/v1/reports", {["Authorization"] = "Bearer " .. a.token,
    ["Content-Type"] = "application/json"}, body)
end
"""
    + WRK_DONE
)

# Lines: path \t text body (newlines escaped). args: file, pause ms.
PUSH_SCRIPT = (
    r"""
local lines = {}
local idx = 0
local pause = 0
function init(args)
  pause = tonumber(args[2])
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    local body = string.gsub(string.sub(line, tab + 1), "\\n", "\n")
    table.insert(lines, {string.sub(line, 1, tab - 1), body})
  end
end
function delay()
  return pause
end
function request()
  idx = idx + 1
  if idx > #lines then idx = 1 end
  return wrk.format("PUT", lines[idx][1], {["Content-Type"] = "text/plain"}, lines[idx][2])
end
"""
    + WRK_DONE
)


@dataclass
class Minute:
    """One minute of load."""

    index: int
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    queue: float


def wrk_minute(
    url: str, script: Path, data: Path, pause_ms: int, extra: list[str], seconds: float
) -> tuple[int, float, float, float, int]:
    """One paced wrk run: (requests, elapsed s, p50 ms, p99 ms, errors)."""
    return run_wrk_script(url, script, data, seconds, CONNECTIONS, [str(pause_ms), *extra])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, MiB."""
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def queue_depth(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=60).text.splitlines():
        if line.startswith("cm_ingest_queue_depth "):
            return float(line.split()[-1])
    return float("nan")


def retune(pause_ms: int, requests: int, elapsed: float, target: float) -> int:
    """The next minute's per-connection pause so that CONNECTIONS connections make ``target``/s."""
    achieved = requests / max(elapsed, 1e-9)
    cycle_ms = 1000 * CONNECTIONS / max(achieved, 1e-9)
    service_ms = max(0.0, cycle_ms - pause_ms)
    return max(0, round(1000 * CONNECTIONS / target - service_ms))


def soak(
    url: str,
    pid: int,
    script: Path,
    data: Path,
    minutes: int,
    target: float,
    label: str,
    sequences: bool,
) -> list[Minute]:
    """Paced load minute by minute; prints and returns each minute's figures."""
    pause = max(0, round(1000 * CONNECTIONS / target) - 5)
    rows = []
    for index in range(1, minutes + 1):
        extra = [str(index * 10_000_000)] if sequences else []
        requests, elapsed, p50, p99, errors = wrk_minute(url, script, data, pause, extra, 60.0)
        row = Minute(
            index=index,
            requests=requests,
            rate=requests / elapsed,
            p50_ms=p50,
            p99_ms=p99,
            errors=errors,
            rss_mb=tree_rss_mb(pid),
            queue=queue_depth(url) if sequences else float("nan"),
        )
        rows.append(row)
        print(
            f"{label} minute {index:>2}: {row.rate:6.1f}/s (target {target:.1f})  "
            f"p50 {p50:6.1f} ms  p99 {p99:7.1f} ms  errors {errors}  RSS {row.rss_mb:6.1f} MiB"
            + (f"  queue {row.queue:.0f}" if sequences else ""),
            flush=True,
        )
        pause = retune(pause, requests, elapsed, target)
    return rows


def summary(rows: list[Minute], label: str) -> dict[str, float]:
    steady = rows[1:] if len(rows) > 1 else rows
    growth = steady[-1].rss_mb - steady[0].rss_mb
    figures = {
        "rate": statistics.mean(r.rate for r in rows),
        "p99_max": max(r.p99_ms for r in rows),
        "p99_median": statistics.median(r.p99_ms for r in rows),
        "errors": float(sum(r.errors for r in rows)),
        "rss_first": steady[0].rss_mb,
        "rss_last": steady[-1].rss_mb,
        "rss_growth": growth,
    }
    print(
        f"{label}: {figures['rate']:.1f}/s over {len(rows)} min, p99 median "
        f"{figures['p99_median']:.1f} ms max {figures['p99_max']:.1f} ms, "
        f"{figures['errors']:.0f} errors, RSS {figures['rss_first']:.1f} -> "
        f"{figures['rss_last']:.1f} MiB (growth {growth:+.1f} MiB from minute "
        f"{steady[0].index} to {steady[-1].index})"
    )
    return figures


def run_reference(
    fleet: list[Agent], minutes: int, target_pushes: float, workdir: Path
) -> dict[str, float] | None:
    binary = pushgateway_binary()
    if binary is None or minutes == 0:
        print("reference: prometheus-pushgateway not installed or --reference-minutes 0; skipped")
        return None
    data = workdir / "push.txt"
    write_push_data(data, fleet)
    script = workdir / "push.lua"
    script.write_text(PUSH_SCRIPT)
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready")
        rows = soak(url, proc.pid, script, data, minutes, target_pushes, "pushgateway", False)
        return summary(rows, "pushgateway")
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=int, default=10, help="soak duration (whole minutes)")
    parser.add_argument("--factor", type=float, default=10.0, help="multiple of a province")
    parser.add_argument("--agents", type=int, default=2300, help="agents of one province")
    parser.add_argument("--interval", type=float, default=60.0, help="s between an agent's posts")
    parser.add_argument(
        "--reference-minutes", type=int, default=2, help="Pushgateway reference run (0: none)"
    )
    args = parser.parse_args()
    if not 1 <= args.minutes <= 120:
        raise SystemExit("--minutes: between 1 and 120")
    rng = random.Random(7)
    target = args.factor * args.agents / args.interval

    workdir = Path(tempfile.mkdtemp(prefix="cm-soak-"))
    try:
        fleet = enrol_fleet(workdir, args.agents, "soak", rng)
        devices = sum(len(a.devices) for a in fleet)
        print(
            f"fleet: {len(fleet)} agents, {devices} devices; load {args.factor:g}x a province = "
            f"{target:.1f} batches/s ({args.minutes} min); SQLite synchronous=FULL, "
            "processor inline",
            flush=True,
        )
        data = workdir / "agents.txt"
        with data.open("w") as out:
            for agent in fleet:
                devices_json = json.dumps(agent.devices, separators=(",", ":"))
                out.write(f"{agent.token}\t{agent.agent_id}\t{devices_json}\n")
        script = workdir / "soak.lua"
        script.write_text(SOAK_SCRIPT)

        port = free_port()
        proc = subprocess.Popen(
            collector_command(workdir, "serve", "--port", str(port), "--no-migrate")
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/readyz")
            before = ingest_counters(url)
            rows = soak(url, proc.pid, script, data, args.minutes, target, "collector", True)
            after = ingest_counters(url)
        finally:
            stop(proc)
        collector = summary(rows, "collector")
        requests_ok = sum(r.requests for r in rows) - collector["errors"]
        print(
            f"collector stored {after[0] - before[0]:.0f} reports "
            f"({after[1] - before[1]:.0f} samples) for {requests_ok:.0f} acknowledged batches"
        )

        pushes = target * devices / len(fleet)
        reference = run_reference(fleet, args.reference_minutes, pushes, workdir)
        if reference is not None:
            print(
                f"ratio collector/pushgateway at the same samples/s: p99 median "
                f"{collector['p99_median'] / max(reference['p99_median'], 1e-9):.2f}, "
                f"RSS {collector['rss_last'] / max(reference['rss_last'], 1e-9):.2f}"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
