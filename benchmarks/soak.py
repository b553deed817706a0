"""Soak of the ingest path: a collector (SQLite, durable acks, processor inline) under 10x a
province's report rate for a bounded time, with memory and latency recorded every minute; the
same samples pushed to Prometheus Pushgateway at the same pace for a shorter reference run.

    python benchmarks/soak.py [--minutes 10] [--factor 10] [--agents 2300]

A province (DESIGN.md "Scale") is ~5,000 devices: with this fleet mix (95 % counter PCs, 5 % site
agents of 25 devices, as benchmarks/ingest.py) that is ~2,300 agents, each posting a report every
60 s. wrk (C) paces the load with a per-connection delay re-tuned every minute; every request is a
new report (sequence numbers and times made in wrk's Lua), so nothing is a duplicate.

Printed per minute: batches/s, p50/p99 (wrk's), errors (non-2xx or socket), the collector's RSS
(process tree) and the journal queue depth, and where the collector's memory is: SQLite's own
allocations (page caches, statements), glibc malloc's bytes in use and free-but-kept (heap
fragmentation), and Python's live blocks — read inside the collector by a probe thread that
``--no-probe`` leaves out (``--tracemalloc N`` also traces Python allocations with N frames and
prints the lines that grew most from the second to the last minute). Then growth of RSS from the
second to the last minute, whether RSS plateaued (its least-squares slope over the second half of
the run at most ``--plateau-mib-per-min``), and the reference's figures and ratios.

The collector runs with ``MALLOC_ARENA_MAX=2`` and ``MALLOC_MMAP_THRESHOLD_=131072``
(``--malloc-arena-max``, ``--malloc-mmap-threshold``; 0 for glibc's defaults), as docs/security.md
recommends for production: with glibc's defaults the heap keeps the memory freed after each large
transient buffer (a /metrics page of 5,000 devices is ~17 MB) and RSS does not plateau. Only
127.0.0.1; every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

# Runs the collector's CLI (argv after the first four) with a thread that appends one JSON line of
# memory figures to argv[1] every argv[2] seconds; argv[3] > 0 starts tracemalloc with that many
# frames and adds the top allocation sites by size. Everything it reads is process-local: SQLite's
# allocator counters (through the library _sqlite3 links), glibc's mallinfo2() (glibc >= 2.33),
# Python's allocated blocks. Loopback only, like the rest: it opens no socket.
PROBE = r"""
import ctypes, json, sys, threading, time, tracemalloc
out, interval, frames = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
sys.argv = ["commune-monitor", *sys.argv[4:]]

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split())]

def _libs():
    import _sqlite3
    sq = ctypes.CDLL(_sqlite3.__file__)
    sq.sqlite3_memory_used.restype = ctypes.c_int64
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = Mallinfo2
    except (OSError, AttributeError):
        libc = None
    return sq, libc

def watch():
    sq, libc = _libs()
    while True:
        time.sleep(interval)
        row = {"t": time.time(), "sqlite": sq.sqlite3_memory_used(),
               "py_blocks": sys.getallocatedblocks(), "threads": threading.active_count()}
        if libc is not None:
            info = libc.mallinfo2()
            row.update(malloc_used=info.uordblks + info.hblkhd, malloc_free=info.fordblks)
        if frames:
            stats = tracemalloc.take_snapshot().statistics("lineno")[:200]
            row["traced"] = [[str(s.traceback), s.size] for s in stats]
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

if frames:
    tracemalloc.start(frames)
threading.Thread(target=watch, name="soak-probe", daemon=True).start()
from province.cli import main
main()
"""

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
    probe: dict[str, Any] | None = None


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


def last_probe(path: Path | None) -> dict[str, Any] | None:
    """The probe's latest line, if it wrote one."""
    if path is None or not path.exists():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[-1]) if lines else None


def probe_text(probe: dict[str, Any] | None) -> str:
    """``SQLite 50 malloc 100+40 py 0.86M`` (MiB; malloc in use + free but kept)."""
    if probe is None:
        return ""
    text = f"  SQLite {probe['sqlite'] / 2**20:5.1f}"
    if "malloc_used" in probe:
        text += f"  malloc {probe['malloc_used'] / 2**20:5.1f}+{probe['malloc_free'] / 2**20:.1f}"
    return text + f"  py {probe['py_blocks'] / 1e6:.2f}M blocks"


def soak(
    url: str,
    pid: int,
    script: Path,
    data: Path,
    minutes: int,
    target: float,
    label: str,
    sequences: bool,
    probe: Path | None = None,
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
            probe=last_probe(probe),
        )
        rows.append(row)
        print(
            f"{label} minute {index:>2}: {row.rate:6.1f}/s (target {target:.1f})  "
            f"p50 {p50:6.1f} ms  p99 {p99:7.1f} ms  errors {errors}  RSS {row.rss_mb:6.1f} MiB"
            + (f"  queue {row.queue:.0f}" if sequences else "")
            + probe_text(row.probe),
            flush=True,
        )
        pause = retune(pause, requests, elapsed, target)
    return rows


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    mean_x = statistics.mean(x for x, _ in points)
    mean_y = statistics.mean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def plateau(rows: list[Minute], label: str, limit: float) -> bool:
    """Print whether RSS (and each probed part) stopped growing over the second half of the run."""
    half = rows[len(rows) // 2 :]
    rss = slope([(r.index, r.rss_mb) for r in half])
    flat = len(rows) >= 4 and rss <= limit
    parts = ""
    probed = [r for r in half if r.probe is not None]
    for key, name in (("sqlite", "SQLite"), ("malloc_used", "malloc in use"),
                      ("malloc_free", "malloc free"), ("py_blocks", "Python blocks")):  # fmt: skip
        if probed and key in probed[0].probe:  # type: ignore[operator]
            scale = 1e-3 if key == "py_blocks" else 2**-20
            unit = "k/min" if key == "py_blocks" else "MiB/min"
            value = slope([(r.index, r.probe[key] * scale) for r in probed])  # type: ignore[index]
            parts += f", {name} {value:+.2f} {unit}"
    verdict = "yes" if flat else ("too short to tell" if len(rows) < 4 else "NO")
    print(
        f"{label}: RSS plateaued: {verdict} (slope over minutes {half[0].index}-{half[-1].index} "
        f"{rss:+.2f} MiB/min, limit {limit:g}{parts})"
    )
    return flat


def top_growth(probe: Path, count: int = 15) -> None:
    """The traced allocation sites that grew most from the probe's second line to its last."""
    lines = [json.loads(line) for line in probe.read_text(encoding="utf-8").splitlines()]
    traced = [line["traced"] for line in lines if "traced" in line]
    if len(traced) < 3:
        return
    first, last = dict(map(tuple, traced[1])), dict(map(tuple, traced[-1]))
    growth = sorted(((last[k] - first.get(k, 0), k) for k in last), reverse=True)[:count]
    print(f"tracemalloc: sites that grew most from probe line 2 to {len(traced)}:")
    for size, site in growth:
        print(f"  {size / 2**20:+8.2f} MiB  {site}")


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
        figures = summary(rows, "pushgateway")
        plateau(rows, "pushgateway", 1.0)
        return figures
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
    parser.add_argument(
        "--malloc-arena-max",
        type=int,
        default=2,
        help="MALLOC_ARENA_MAX of the collector (default 2, as recommended; 0: glibc's default)",
    )
    parser.add_argument(
        "--malloc-mmap-threshold",
        type=int,
        default=128 * 1024,
        metavar="BYTES",
        help="MALLOC_MMAP_THRESHOLD_ of the collector: allocations this large get their own "
        "mapping, returned when freed; setting it also stops glibc from raising it after each "
        "large free (default 131072, as recommended; 0: glibc's dynamic default)",
    )
    parser.add_argument(
        "--no-probe", action="store_true", help="no memory probe thread inside the collector"
    )
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace Python allocations with this many frames (slows the collector; default off)",
    )
    parser.add_argument(
        "--plateau-mib-per-min",
        type=float,
        default=1.0,
        help="largest RSS slope over the second half that still counts as a plateau (1.0)",
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
        command = collector_command(workdir, "serve", "--port", str(port), "--no-migrate")
        probe = None if args.no_probe else workdir / "probe.jsonl"
        if probe is not None:
            probe_args = [str(probe), "60", str(args.tracemalloc)]
            command = [command[0], "-c", PROBE, *probe_args, *command[3:]]
        env = dict(os.environ)
        if args.malloc_arena_max > 0:
            env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
        if args.malloc_mmap_threshold > 0:
            env["MALLOC_MMAP_THRESHOLD_"] = str(args.malloc_mmap_threshold)
        print(
            f"collector: MALLOC_ARENA_MAX={env.get('MALLOC_ARENA_MAX', 'unset')}, "
            f"MALLOC_MMAP_THRESHOLD_={env.get('MALLOC_MMAP_THRESHOLD_', 'unset')}, "
            f"memory probe {'off' if probe is None else 'on'}"
            + (f", tracemalloc {args.tracemalloc} frames" if args.tracemalloc else ""),
            flush=True,
        )
        proc = subprocess.Popen(command, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/readyz")
            before = ingest_counters(url)
            rows = soak(url, proc.pid, script, data, args.minutes, target, "collector", True, probe)
            after = ingest_counters(url)
        finally:
            stop(proc)
        collector = summary(rows, "collector")
        plateau(rows, "collector", args.plateau_mib_per_min)
        if probe is not None and args.tracemalloc:
            top_growth(probe)
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
