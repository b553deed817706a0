"""Benchmark: ``/metrics``, the budget plan and the ranking while the demo of a whole province
runs (issue 22, item 7: ``/metrics`` ≤ 0.5 s on every scrape, plan and ranking ≤ 2 s, also while
the demo runs).

Starts ``commune-monitor demo --all-communes`` as a child on a free loopback port (its store,
history back-fill, live fleet and, in a process of its own, its collector, as a newcomer runs
it), waits for the live run, then for ``--seconds``:

* every ``--scrape-interval`` seconds, ``GET /metrics`` as Prometheus would, and, just before it,
  the reference: ``GET /readyz`` on the same server, a route that does nothing, whose time is
  what the busy demo alone adds to any answer. The ratio of the two is what the
  exposition itself costs under that load;
* every ``--plan-every`` seconds, ``GET /api/v1/inventory/plan`` and ``/ranking`` (every asset)
  with the demo's admin token.

It prints the median, 95th percentile and worst of each, the scrapes over 0.5 s, the devices the
exposition had left behind at each scrape (``cm_exposition_devices_behind``), and the load
average. Only 127.0.0.1; the demo is stopped by its PID.

    python benchmarks/demo_province.py [--province 37] [--backfill-days 7] [--seconds 300]
        [--scrape-interval 5] [--plan-every 60] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import stop, wait_http  # noqa: E402
from tests.services import free_port  # noqa: E402

TOKEN = re.compile(r"admin token: (\S+)")
BEHIND = re.compile(rb"^cm_exposition_devices_behind (\S+)$", re.MULTILINE)
DEVICES = re.compile(rb"^cm_device_last_report_timestamp_seconds\{", re.MULTILINE)
TARGET_SCRAPE_S = 0.5
TARGET_PLAN_S = 2.0


def wait_for_token(log: Path, demo: subprocess.Popen[bytes], timeout: float) -> str:
    """The admin token the demo prints once its live run has started."""
    deadline = time.monotonic() + timeout
    shown = 0.0
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if found := TOKEN.search(text):
            return found.group(1)
        if demo.poll() is not None:
            raise RuntimeError(f"the demo stopped ({demo.returncode}) before its live run: {log}")
        if time.monotonic() - shown >= 60:
            shown = time.monotonic()
            last = text.strip().splitlines()[-1:] or ["(nothing yet)"]
            print(f"  waiting for the live run… {last[0][:120]}", flush=True)
        time.sleep(1)
    raise RuntimeError(f"no live run after {timeout:g} s: {log}")


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):.3f} s, p95 {p95:.3f} s, worst {ordered[-1]:.3f} s"


def measure(url: str, token: str, args: argparse.Namespace) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    scrapes: list[float] = []
    references: list[float] = []
    firsts: list[float] = []
    behind: list[float] = []
    plans: list[float] = []
    rankings: list[float] = []
    devices = 0
    with httpx.Client(base_url=url, timeout=120) as client:
        begun = time.monotonic()
        next_plan = begun
        while (now := time.monotonic()) - begun < args.seconds:
            start = time.perf_counter()
            client.get("/readyz")
            references.append(time.perf_counter() - start)
            start = time.perf_counter()
            with client.stream("GET", "/metrics") as answer:
                # The headers come once the text is ready: the rest is the transfer.
                firsts.append(time.perf_counter() - start)
                body = answer.raise_for_status().read()
            scrapes.append(time.perf_counter() - start)
            if found := BEHIND.search(body):
                behind.append(float(found.group(1)))
            devices = len(DEVICES.findall(body))
            if now >= next_plan:
                next_plan = now + args.plan_every
                start = time.perf_counter()
                client.get(
                    "/api/v1/inventory/plan", params={"budget": args.budget}, headers=auth
                ).raise_for_status()
                plans.append(time.perf_counter() - start)
                start = time.perf_counter()
                client.get(
                    "/api/v1/inventory/ranking", params={"limit": 100_000}, headers=auth
                ).raise_for_status()
                rankings.append(time.perf_counter() - start)
            time.sleep(max(0.0, args.scrape_interval - (time.monotonic() - now)))
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    slow = [seconds for seconds in scrapes if seconds > TARGET_SCRAPE_S]
    verdict = "OK" if not slow else "MISSED"
    print(
        f"GET /metrics ({devices:,} devices): {len(scrapes)} scrapes, one every "
        f"{args.scrape_interval:g} s for {args.seconds:g} s: {quantiles(scrapes)}; "
        f"over {TARGET_SCRAPE_S} s: {len(slow)}   target ≤ {TARGET_SCRAPE_S} s every scrape: "
        f"{verdict}"
    )
    ratio = statistics.median(scrapes) / max(statistics.median(references), 1e-6)
    print(
        f"  reference, GET /readyz just before each (what the busy demo alone adds): "
        f"{quantiles(references)}; /metrics ÷ /readyz (medians) {ratio:.1f}×"
    )
    print(
        f"  of which until the headers (the text ready, the rest is transfer): {quantiles(firsts)}"
    )
    if slow:
        late = ", ".join(
            f"#{index + 1} {seconds:.3f} s (headers {firsts[index]:.3f} s)"
            for index, seconds in enumerate(scrapes)
            if seconds > TARGET_SCRAPE_S
        )
        print(
            f"  the scrapes over {TARGET_SCRAPE_S} s (#1 is the first after the live start): {late}"
        )
    if behind:
        print(
            f"  devices left behind at a scrape (cm_exposition_devices_behind): median "
            f"{statistics.median(behind):,.0f}, most {max(behind):,.0f}"
        )
    verdict = "OK" if max(plans + rankings) <= TARGET_PLAN_S else "MISSED"
    print(
        f"GET /api/v1/inventory/plan: {len(plans)} calls, {quantiles(plans)}; /ranking (every "
        f"asset): {quantiles(rankings)}   target ≤ {TARGET_PLAN_S} s: {verdict}"
    )
    print(
        "  each call, plan / ranking: "
        + ", ".join(
            f"{plan:.2f} / {rank:.2f} s" for plan, rank in zip(plans, rankings, strict=True)
        )
    )
    print(f"load average {load} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--province", default="37", help="province code (default Ninh Bình)")
    parser.add_argument("--backfill-days", type=float, default=7, help="the demo's history")
    parser.add_argument("--seconds", type=float, default=300, help="how long to measure")
    parser.add_argument("--scrape-interval", type=float, default=5, help="seconds between scrapes")
    parser.add_argument("--plan-every", type=float, default=60, help="seconds between plan calls")
    parser.add_argument("--budget", type=int, default=8_000_000_000, help="plan budget in VND")
    parser.add_argument("--start-timeout", type=float, default=3600, help="back-fill limit (s)")
    parser.add_argument("--workdir", type=Path, help="the demo's data folder (default temporary)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cm-demo-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "demo-output.log"
    command = [sys.executable, "-m", "province", "demo", "--province", args.province]
    command += ["--all-communes", "--backfill-days", f"{args.backfill_days:g}"]
    command += ["--data-dir", str(workdir / "data"), "--port", str(port)]
    days = f"{args.backfill_days:g}"
    print(f"demo of province {args.province}, every commune, {days} days of history")
    print(f"  {' '.join(command[1:])}  (output in {log})", flush=True)
    # A wide console keeps the token on the line that names it.
    env = {**os.environ, "COLUMNS": "400", "TERM": "dumb"}
    with log.open("wb") as out:
        demo = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        begun = time.monotonic()
        token = wait_for_token(log, demo, args.start_timeout)
        wait_http(f"{url}/readyz", timeout=120)
        print(f"  live after {time.monotonic() - begun:.0f} s; measuring…", flush=True)
        measure(url, token, args)
    finally:
        stop(demo)


if __name__ == "__main__":
    main()
