"""PC agent footprint: ``commune-agent run`` beside Prometheus node_exporter, same interval.

    python benchmarks/agent_footprint.py [--seconds 50] [--interval 15] [--warmup 10]

A collector (``commune-monitor serve``, SQLite store in a temporary folder) runs on 127.0.0.1.
Two agents are enrolled to it and run with the real console script: one with the default checks
(``host`` every ``--interval`` seconds, ``signing`` every 60 s, heartbeat every 30 s), one with
an ``http_probe`` of the collector's /readyz every 60 s as well, which is what a counter PC that
probes the procedure software also loads (pycurl and the libcurl, OpenSSL and HTTP/2/3 libraries
its wheel bundles). Beside them, Debian's ``prometheus-node-exporter`` (default collectors)
listens on a loopback port and this script scrapes its /metrics every ``--interval`` seconds, as
Prometheus would.

Four idle Python processes show where any agent starts:

- a bare loop calling ``psutil.cpu_percent`` at the same interval: the interpreter's floor;
- the floor of the issue's own libraries: psutil, ssl with a default context (the system trust
  store loaded), sqlite3, pycurl and apscheduler imported, doing nothing; a Python agent that
  meets the issue cannot be smaller than this;
- the same floor without pycurl, which only an agent with an HTTP probe loads: where an agent
  with the default checks starts;
- the first floor plus what this agent is built on besides: asyncio (the checks' interface and
  apscheduler's asyncio scheduler) and pydantic with the wire models (the schema shared with the
  collector).

Every Python process reads its modules as compiled bytecode, as an installed agent does: with
``PYTHONDONTWRITEBYTECODE`` set (as in this project's shells) each start would compile the
agent's modules from source and keep ~1.3 MiB more. A bytecode cache in the temporary folder
(``PYTHONPYCACHEPREFIX``) is filled by a short warm-up run first.

Each process is sampled once a second with psutil: steady RSS is the median after the warm-up,
CPU is user+system (children included: the agent's ``smartctl`` and ``ping`` are its cost)
between the end of the warm-up and the end, given as CPU seconds per hour and % of one core.
Printed: a table, the load average, the agent/node_exporter and floor/node_exporter ratios
against the issue's targets (RSS ≤ 1.5× node_exporter, CPU ≤ 0.2 % of one core), and the
agent as floor + its own share. The whole run is bounded (``--seconds`` ≤ 60 of measuring) and
only 127.0.0.1 is used; every process started here is stopped by its PID.
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
from collector import communes  # noqa: E402
from collector.communes import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.settings import load_settings  # noqa: E402
from province import migrate  # noqa: E402
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
while interval:
    psutil.cpu_percent()
    psutil.virtual_memory()
    time.sleep(interval)
"""
# What the issue itself requires, imported and idle: no Python agent meeting it is smaller.
FLOOR_LOOP = """
import sys, time
import psutil, sqlite3, ssl, pycurl
import apscheduler.schedulers.background
context = ssl.create_default_context()
interval = float(sys.argv[1])
while interval:
    time.sleep(interval)
"""
# The same without pycurl, which only an agent with an HTTP probe loads: the default checks' floor.
FLOOR_NO_PROBE_LOOP = """
import sys, time
import psutil, sqlite3, ssl
import apscheduler.schedulers.background
context = ssl.create_default_context()
interval = float(sys.argv[1])
while interval:
    time.sleep(interval)
"""
# The same, plus what this agent is built on: asyncio and pydantic with the wire models.
FLOOR_PYDANTIC_LOOP = """
import sys, time
import psutil, sqlite3, ssl, pycurl, asyncio
import apscheduler.schedulers.asyncio
from agent.wire import Ack, Report, ReportBatch
context = ssl.create_default_context()
interval = float(sys.argv[1])
while interval:
    time.sleep(interval)
"""
AGENT = "commune-agent run (default checks)"
AGENT_PROBE = "commune-agent run (+ http_probe)"
EXPORTER = "prometheus-node-exporter"
BARE = "bare python+psutil loop"
FLOOR = "floor: psutil ssl sqlite3 pycurl apscheduler"
FLOOR_NO_PROBE = "floor without pycurl (default checks)"
FLOOR_PYDANTIC = "floor + asyncio, pydantic wire models"


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


def python_env(work: Path) -> dict[str, str]:
    """Environment of every Python child: compiled bytecode from a cache in ``work``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(work / "pycache"), "PYTHONPATH": str(ROOT)}


def load() -> str:
    """The load average, as ``uptime`` prints it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


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
    load_before = load()

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
            default_checks: dict[str, object] = {
                "host": {"check": "host", "interval_seconds": args.interval},
                "signing": {"check": "local_service"},
            }
            probe = {
                "check": "http_probe",
                "interval_seconds": 60,
                "options": {"targets": [{"name": "collector", "url": f"{collector.url}/readyz"}]},
            }
            env = python_env(work)
            script = Path(sys.executable).parent / "commune-agent"
            agents: dict[str, tuple[str, dict[str, str]]] = {}
            for name, checks in (
                (AGENT, default_checks),
                (AGENT_PROBE, {**default_checks, "collector": probe}),
            ):
                data_dir = work / f"agent-{len(agents)}"
                identity = asyncio.run(
                    enrol(
                        collector.url,
                        enrol_token(engine),
                        path=data_dir / "identity.json",
                        hostname=f"footprint-{len(agents)}",
                    )
                )
                collector.put_config(identity.agent_id, {"checks": checks})
                agents[name] = (identity.agent_id, {**env, "COMMUNE_AGENT_DATA_DIR": str(data_dir)})
            floor_scripts = (BARE_LOOP, FLOOR_LOOP, FLOOR_NO_PROBE_LOOP, FLOOR_PYDANTIC_LOOP)
            # Warm-up: fill the bytecode cache with what every process below imports (the
            # probing agent imports everything the other one does).
            for code in floor_scripts:
                subprocess.run([sys.executable, "-c", code, "0"], env=env, check=True)
            subprocess.run(
                [str(script), "run", "--max-seconds", "3"],
                env=agents[AGENT_PROBE][1],
                check=True,
                stderr=subprocess.DEVNULL,
            )
            warm_reports = {
                name: len(journal_rows(engine, agent_id)) for name, (agent_id, _) in agents.items()
            }

            run_for = args.seconds + 3
            agent_cmd = [str(script), "run", "--max-seconds", f"{run_for:g}"]
            watched: list[Watched] = []
            for name, (_, agent_env) in agents.items():
                with Path(agent_env["COMMUNE_AGENT_DATA_DIR"] + ".log").open("wb") as log:
                    proc = subprocess.Popen(agent_cmd, env=agent_env, stderr=log)
                started.append(proc)
                watched.append(Watched(name, proc))
            port = free_port()
            exporter = subprocess.Popen(
                [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append(exporter)
            watched.append(Watched(EXPORTER, exporter))
            for name, code in zip(
                (BARE, FLOOR, FLOOR_NO_PROBE, FLOOR_PYDANTIC), floor_scripts, strict=True
            ):
                proc = subprocess.Popen([sys.executable, "-c", code, str(args.interval)], env=env)
                started.append(proc)
                watched.append(Watched(name, proc))

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
            exits = {w.name: w.proc.wait(timeout=30) for w in watched[:2]}
            reports = {
                name: len(journal_rows(engine, agent_id)) - warm_reports[name]
                for name, (agent_id, _) in agents.items()
            }
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
        print(f"before: {load_before}; after: {load()}")
        for name, code in exits.items():
            print(f"{name}: exit {code}, {reports[name]} reports stored at the collector")
        print(
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
        exp_rss, exp_cpu = figures[EXPORTER]
        floor_rss, floor_pyd_rss = figures[FLOOR][0], figures[FLOOR_PYDANTIC][0]
        no_probe_rss = figures[FLOOR_NO_PROBE][0]
        target = RSS_TARGET_RATIO * exp_rss
        for name in (AGENT, AGENT_PROBE):
            rss, cpu = figures[name]
            ratio = rss / exp_rss
            cpu_ratio = cpu / exp_cpu if exp_cpu > 0 else float("inf")
            print(
                f"{name} / node_exporter: RSS {ratio:.2f}× (target ≤ {RSS_TARGET_RATIO}× = "
                f"{target:.1f} MiB: {'met' if ratio <= RSS_TARGET_RATIO else 'NOT met'}), CPU "
                f"{cpu_ratio:.2f}×, {cpu:.3f} % of one core (target ≤ {CPU_TARGET_PERCENT} %: "
                f"{'met' if cpu <= CPU_TARGET_PERCENT else 'NOT met'})"
            )
        for name, floor in ((FLOOR, floor_rss), (FLOOR_NO_PROBE, no_probe_rss)):
            below = floor - target
            print(
                f"{name} / node_exporter: RSS {floor / exp_rss:.2f}× (the issue's libraries "
                "alone, idle: "
                + (
                    f"the target is {below:.1f} MiB below this floor, unreachable)"
                    if below > 0
                    else f"{-below:.1f} MiB left under the target)"
                )
            )
        probing = figures[AGENT_PROBE][0]
        print(
            f"agent with a probe {probing:.1f} MiB = floor {floor_rss:.1f} + "
            f"{probing - floor_rss:.1f} MiB = floor with asyncio and pydantic "
            f"{floor_pyd_rss:.1f} + {probing - floor_pyd_rss:.1f} MiB of its own; without a probe "
            f"it loads no pycurl: {figures[AGENT][0]:.1f} MiB = floor without pycurl "
            f"{no_probe_rss:.1f} + {figures[AGENT][0] - no_probe_rss:.1f} MiB"
        )
        for name, code in exits.items():
            if code != 0:
                log_path = Path(agents[name][1]["COMMUNE_AGENT_DATA_DIR"] + ".log")
                print(f"{name} failed:\n{log_path.read_text()[-2000:]}", file=sys.stderr)


if __name__ == "__main__":
    main()
