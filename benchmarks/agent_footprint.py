"""PC agent footprint: ``commune-agent run`` beside Prometheus node_exporter, same interval.

    python benchmarks/agent_footprint.py [--seconds 50] [--interval 15] [--warmup 10]

A collector (``commune-monitor serve``, SQLite store in a temporary folder) runs on 127.0.0.1;
an agent is enrolled to it and runs the default checks (``host`` every ``--interval`` seconds,
``signing`` every 60 s, heartbeat every 30 s) with the real console script. Beside it, Debian's
``prometheus-node-exporter`` (default collectors) listens on a loopback port and this script
scrapes its /metrics every ``--interval`` seconds, as Prometheus would. A bare Python loop that
calls ``psutil.cpu_percent`` at the same interval shows the interpreter's floor, and the same loop
with the libraries the agent cannot do without imported (asyncio, ssl, sqlite3, httpx, pydantic
and the wire models) shows the floor of any agent written on them.

Each process is sampled once a second with psutil: steady RSS is the median after the warm-up,
CPU is user+system (children included: the agent's ``smartctl`` and ``ping`` are its cost)
between the end of the warm-up and the end, given as CPU seconds per hour and % of one core.
Printed: a table, the agent/node_exporter ratios and the issue's targets (RSS ≤ 1.5×
node_exporter, CPU ≤ 0.2 % of one core). The whole run is bounded (``--seconds`` ≤ 60 of
measuring) and only 127.0.0.1 is used; every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.identity import enrol  # noqa: E402
from collector import communes, migrate  # noqa: E402
from collector.cli import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.settings import load_settings  # noqa: E402
from tests.agent.support import CollectorProcess, enrol_token, journal_rows  # noqa: E402
from tests.services import free_port  # noqa: E402

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
PROVINCE = "37"
MIB = 1024 * 1024
RSS_TARGET_RATIO = 1.5
CPU_TARGET_PERCENT = 0.2

BARE_LOOP = """
import sys, time, psutil
interval = float(sys.argv[1])
while True:
    psutil.cpu_percent()
    psutil.virtual_memory()
    time.sleep(interval)
"""
# The libraries the agent cannot do without, imported and idle: where a Python agent's RSS starts.
FLOOR_LOOP = """
import sys, time
sys.modules["httpx._main"] = None  # as agent.cli does: no rich/click/pygments
import asyncio, ssl, sqlite3, psutil, httpx, pydantic.main
from agent.wire import Report
interval = float(sys.argv[1])
while True:
    psutil.cpu_percent()
    time.sleep(interval)
"""


@dataclass
class Watched:
    """One measured process and its samples."""

    name: str
    proc: subprocess.Popen[bytes]
    rss: list[tuple[float, int]] = field(default_factory=list)
    cpu_start: float | None = None
    cpu_end: float | None = None
    window: float = 0.0

    def cpu_total(self) -> float:
        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system + times.children_user + times.children_system

    def sample(self, at: float) -> None:
        self.rss.append((at, psutil.Process(self.proc.pid).memory_info().rss))

    def steady_rss(self, after: float) -> float:
        return statistics.median(v for t, v in self.rss if t >= after)

    def peak_rss(self) -> int:
        return max(v for _, v in self.rss)

    def cpu_seconds(self) -> float:
        assert self.cpu_start is not None
        assert self.cpu_end is not None
        return self.cpu_end - self.cpu_start


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL: by PID, only processes started here."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def scrape_loop(url: str, interval: float, stop_at: float, counts: dict[str, int]) -> None:
    """Scrape node_exporter like Prometheus, every ``interval`` seconds until ``stop_at``."""
    with httpx.Client(timeout=10) as client:
        next_at = time.monotonic()
        while next_at < stop_at:
            response = client.get(url)
            counts["ok" if response.status_code == 200 else "failed"] += 1
            counts["bytes"] += len(response.content)
            next_at += interval
            time.sleep(max(0.0, min(next_at, stop_at) - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=50, help="measured run (max 60)")
    parser.add_argument("--interval", type=float, default=15, help="host check / scrape (s)")
    parser.add_argument("--warmup", type=float, default=10, help="excluded start (s)")
    args = parser.parse_args()
    if not 0 < args.seconds <= 60:
        parser.error("--seconds must be in (0, 60]")
    if not 0 <= args.warmup < args.seconds:
        parser.error("--warmup must be below --seconds")
    if not os.access(NODE_EXPORTER, os.X_OK):
        sys.exit(f"{NODE_EXPORTER} is missing: apt-get install prometheus-node-exporter")

    with tempfile.TemporaryDirectory(prefix="agent-footprint-") as tmp:
        work = Path(tmp)
        (work / "collector").mkdir()
        settings = load_settings(
            data_dir=work / "collector", database_url=f"sqlite:///{work / 'store.db'}"
        )
        engine = make_engine(settings)
        migrate.upgrade(engine)
        communes.load_units(engine, communes.read_units(BUNDLED_UNITS, PROVINCE))
        collector = CollectorProcess(settings.effective_database_url, work / "collector")
        collector.start()
        started: list[subprocess.Popen[bytes]] = []
        try:
            identity = asyncio.run(
                enrol(
                    collector.url,
                    enrol_token(engine),
                    path=work / "agent" / "identity.json",
                    hostname="footprint",
                )
            )
            collector.put_config(
                identity.agent_id,
                {
                    "checks": {
                        "host": {"check": "host", "interval_seconds": args.interval},
                        "signing": {"check": "local_service"},
                    }
                },
            )
            run_for = args.seconds + 3
            agent_env = {**os.environ, "COMMUNE_AGENT_DATA_DIR": str(work / "agent")}
            script = Path(sys.executable).parent / "commune-agent"
            agent_cmd = [str(script), "run", "--max-seconds", f"{run_for:g}"]
            port = free_port()
            with (work / "agent.log").open("wb") as agent_log:
                agent = subprocess.Popen(agent_cmd, env=agent_env, stderr=agent_log)
            started.append(agent)
            exporter = subprocess.Popen(
                [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append(exporter)
            bare = subprocess.Popen([sys.executable, "-c", BARE_LOOP, str(args.interval)])
            started.append(bare)
            floor_env = {**os.environ, "PYTHONPATH": str(ROOT)}
            floor = subprocess.Popen(
                [sys.executable, "-c", FLOOR_LOOP, str(args.interval)], env=floor_env
            )
            started.append(floor)
            watched = [
                Watched("commune-agent run", agent),
                Watched("prometheus-node-exporter", exporter),
                Watched("bare python+psutil loop", bare),
                Watched("floor: +asyncio ssl sqlite3 httpx pydantic", floor),
            ]

            t0 = time.monotonic()
            end = t0 + args.seconds
            counts = {"ok": 0, "failed": 0, "bytes": 0}
            # Let node_exporter bind its port before the first scrape.
            while time.monotonic() - t0 < 5:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            scraper = threading.Thread(
                target=scrape_loop,
                args=(f"http://127.0.0.1:{port}/metrics", args.interval, end, counts),
                daemon=True,
            )
            scraper.start()
            warm_at = t0 + args.warmup
            while (now := time.monotonic()) < end:
                for w in watched:
                    w.sample(now - t0)
                    if w.cpu_start is None and now >= warm_at:
                        w.cpu_start = w.cpu_total()
                        w.window = end - now
                time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            for w in watched:
                w.cpu_end = w.cpu_total()
            scraper.join(timeout=15)
            agent_exit = agent.wait(timeout=30)
            reports = len(journal_rows(engine, identity.agent_id))
        finally:
            for proc in started:
                stop(proc)
            collector.stop()
            engine.dispose()

        print(
            f"agent footprint: {args.seconds:g} s run, warm-up {args.warmup:g} s, interval "
            f"{args.interval:g} s, {psutil.cpu_count()} CPUs, Python "
            f"{sys.version.split()[0]}, psutil sampled every 1 s"
        )
        print(
            f"agent: exit {agent_exit}, {reports} reports stored at the collector; "
            f"node_exporter: {counts['ok']} scrapes ok, {counts['failed']} failed, "
            f"{counts['bytes'] / max(counts['ok'], 1) / 1024:.0f} KiB per scrape"
        )
        header = (
            f"{'process':<44} {'steady RSS':>11} {'peak RSS':>10} {'CPU s':>7} "
            f"{'CPU s/hour':>11} {'% of a core':>12}"
        )
        print(header)
        print("-" * len(header))
        figures = {}
        for w in watched:
            steady = w.steady_rss(args.warmup) / MIB
            cpu = w.cpu_seconds()
            per_hour = cpu / w.window * 3600
            percent = cpu / w.window * 100
            figures[w.name] = (steady, percent)
            print(
                f"{w.name:<44} {steady:>7.1f} MiB {w.peak_rss() / MIB:>6.1f} MiB {cpu:>7.2f} "
                f"{per_hour:>11.1f} {percent:>11.3f}%"
            )
        agent_rss, agent_cpu = figures["commune-agent run"]
        exp_rss, exp_cpu = figures["prometheus-node-exporter"]
        rss_ratio = agent_rss / exp_rss
        cpu_ratio = agent_cpu / exp_cpu if exp_cpu > 0 else float("inf")
        print(
            f"ratio agent / node_exporter: RSS {rss_ratio:.2f}× (target ≤ {RSS_TARGET_RATIO}×: "
            f"{'met' if rss_ratio <= RSS_TARGET_RATIO else 'NOT met'}), CPU {cpu_ratio:.2f}×"
        )
        print(
            f"agent CPU {agent_cpu:.3f} % of one core (target ≤ {CPU_TARGET_PERCENT} %: "
            f"{'met' if agent_cpu <= CPU_TARGET_PERCENT else 'NOT met'})"
        )
        if agent_exit != 0:
            print((work / "agent.log").read_text()[-2000:], file=sys.stderr)


if __name__ == "__main__":
    main()
