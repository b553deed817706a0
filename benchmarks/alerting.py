"""Alerting benchmark: rule evaluation and grouping throughput, and outage-to-notification latency.

    python benchmarks/alerting.py [--province 79] [--minutes 10] [--no-prometheus]

1. Throughput: a whole simulated province (~5,000 devices) reports for ``--minutes`` minutes into
   the journal of a SQLite store; the journal processor then consumes it twice, on two identical
   stores: without and with the alert engine as a consumer. Prints reports/s and samples/s of
   both and the ratio (the cost of alerting on the whole path from journal to tickets).
2. Latency: a commune's link is cut at a random phase of the heartbeat; with the collector's
   defaults (heartbeat 30 s, silence after 1.5 heartbeats, sweep every 15 s, outbox every 10 s)
   the fake clock runs in 1 s ticks until the e-mail reaches a real aiosmtpd server on loopback.
   Reference, run here: Prometheus (Debian package) scraping a loopback target every 15 s with
   ``up == 0`` ``for: 1m`` evaluated every 15 s; the target is stopped and the time until the
   alert fires is measured in real time. Alertmanager is not installable here: its default
   ``group_wait`` of 30 s is added to Prometheus's measured time, as documented upstream.

Only 127.0.0.1 is used; every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.wire import ReportBatch  # noqa: E402
from alerts.engine import AlertEngine  # noqa: E402
from alerts.notify import Dispatcher, SmtpNotifier  # noqa: E402
from alerts.routing import load_routing  # noqa: E402
from alerts.rules import load_rules  # noqa: E402
from collector import agents, communes  # noqa: E402
from collector.communes import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.ingest import store_batch  # noqa: E402
from collector.metrics import IngestMetrics  # noqa: E402
from collector.processor import Processor  # noqa: E402
from collector.settings import load_settings  # noqa: E402
from province import migrate  # noqa: E402
from sim import Behaviour, FaultView, generate_fleet  # noqa: E402
from tests.alerts.receivers import SmtpServer  # noqa: E402
from tests.fakes import FakeClock  # noqa: E402
from tests.services import free_port  # noqa: E402

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội, a Monday: peak load


def _store(folder: Path, province: str) -> Any:
    settings = load_settings(data_dir=folder, sqlite_synchronous="NORMAL")
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, province))
    return engine


def _fill(engine: Any, fleet: Any, minutes: int) -> tuple[int, int]:
    """Enrol every agent and journal ``minutes`` of its reports; returns (reports, samples)."""
    behaviour = Behaviour(fleet, fleet.seed, START)
    quiet = FaultView()
    reports = samples = 0
    for agent in fleet.agents:
        token = agents.create_enrol_token(engine, agent.commune_code, START, timedelta(hours=1))
        enrolment = agents.enrol(engine, token, agent.hostname, "bench", START)
        identity = agents.authenticate(engine, enrolment.agent_token)
        batch = []
        for minute in range(minutes):
            at = START + timedelta(minutes=minute)
            devices = behaviour.agent_report(agent, at, 60.0, quiet)
            if devices is None:
                continue
            batch.append({"seq": minute + 1, "measured_at": at.isoformat(), "devices": devices})
            samples += sum(len(d["samples"]) for d in devices)  # type: ignore[misc,arg-type]
        reports += len(batch)
        parsed = ReportBatch.model_validate(
            {
                "schema_version": 1,
                "agent_id": identity.agent_id,
                "sent_at": START.isoformat(),
                "reports": batch,
            }
        )
        with engine.begin() as conn:
            store_batch(conn, identity, parsed, START, timedelta(0), 100_000)
    return reports, samples


def throughput(province: str, minutes: int) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, province, seed=7)
    print(
        f"province {province}: {len(fleet.communes)} communes, {len(fleet.agents)} agents, "
        f"{len(fleet.devices)} devices; {minutes} minutes of reports"
    )
    results = {}
    for with_alerts in (False, True):
        folder = Path(tempfile.mkdtemp(prefix="cm-bench-alerts-"))
        try:
            engine = _store(folder, province)
            reports, samples = _fill(engine, fleet, minutes)
            clock = FakeClock(START + timedelta(minutes=minutes))
            consumers = []
            if with_alerts:
                consumers.append(
                    AlertEngine(engine, load_rules(), load_routing(), clock, heartbeat_seconds=60.0)
                )
            processor = Processor(
                engine, clock, IngestMetrics.create(CollectorRegistry()), consumers=consumers
            )
            begun = time.perf_counter()
            done = processor.drain()
            seconds = time.perf_counter() - begun
            assert done == reports
            results[with_alerts] = reports / seconds
            label = "with alert engine   " if with_alerts else "processor only (ref)"
            print(
                f"  {label}: {reports} reports in {seconds:.2f} s = {reports / seconds:,.0f} "
                f"reports/s, {samples / seconds:,.0f} samples/s"
            )
            engine.dispose()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(
        f"  ratio with/without alerting: {results[True] / results[False]:.2f} "
        f"(a province sends {len(fleet.agents) / 30:,.0f} reports/s at a 30 s heartbeat: "
        f"headroom x{results[True] / (len(fleet.agents) / 30):,.0f})"
    )


def our_latency(runs: int) -> list[float]:
    """Outage-to-e-mail latency (simulated seconds) with the collector's default timers."""
    settings = load_settings()
    heartbeat = settings.heartbeat_seconds
    sweep_every = settings.alerts.sweep_seconds
    notify_every = settings.alerts.notify_seconds
    smtp = SmtpServer(free_port())
    smtp.start()
    out: list[float] = []
    rng = random.Random(11)
    try:
        for run in range(runs):
            folder = Path(tempfile.mkdtemp(prefix="cm-bench-latency-"))
            try:
                engine = _store(folder, "37")
                clock = FakeClock(START)
                alert_engine = AlertEngine(
                    engine, load_rules(), load_routing(), clock, heartbeat_seconds=heartbeat
                )
                processor = Processor(
                    engine,
                    clock,
                    IngestMetrics.create(CollectorRegistry()),
                    consumers=[alert_engine],
                )
                notifier = SmtpNotifier("127.0.0.1", smtp.port, "bench@localhost")
                dispatcher = Dispatcher(
                    engine, clock, {"email": notifier}, routing=alert_engine.routing
                )
                fleet = generate_fleet(BUNDLED_UNITS, "37", seed=run, max_communes=2)
                behaviour = Behaviour(fleet, run, START)
                identities = {}
                for agent in fleet.agents:
                    token = agents.create_enrol_token(
                        engine, agent.commune_code, START, timedelta(hours=1)
                    )
                    enrolment = agents.enrol(engine, token, agent.hostname, "bench", START)
                    identities[agent.key] = agents.authenticate(engine, enrolment.agent_token)
                cut_commune = fleet.communes[0].code
                # Agents report on their own phase; the cut falls anywhere in the heartbeat.
                phase = {a.key: rng.uniform(0, heartbeat) for a in fleet.agents}
                cut_at = START + timedelta(seconds=300 + rng.uniform(0, heartbeat))
                seqs = {a.key: 0 for a in fleet.agents}
                before = len(smtp.messages)
                tick = 0
                while len(smtp.messages) == before and tick < 1_000:
                    now = clock.now()
                    for agent in fleet.agents:
                        due = (tick - phase[agent.key]) % heartbeat < 1
                        if not due or (agent.commune_code == cut_commune and now >= cut_at):
                            continue
                        seqs[agent.key] += 1
                        devices = behaviour.agent_report(agent, now, heartbeat, FaultView())
                        batch = ReportBatch.model_validate(
                            {
                                "schema_version": 1,
                                "agent_id": identities[agent.key].agent_id,
                                "sent_at": now.isoformat(),
                                "reports": [
                                    {
                                        "seq": seqs[agent.key],
                                        "measured_at": now.isoformat(),
                                        "devices": devices or [],
                                    }
                                ],
                            }
                        )
                        with engine.begin() as conn:
                            store_batch(
                                conn, identities[agent.key], batch, now, timedelta(0), 10**5
                            )
                    processor.drain()
                    if tick % sweep_every == 0:
                        alert_engine.sweep()
                    if tick % notify_every == 0:
                        dispatcher.deliver_due()
                    clock.advance(1)
                    tick += 1
                out.append((clock.now() - cut_at).total_seconds())
                engine.dispose()
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        smtp.stop()
    return out


class _Target(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"cm_bench_up 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


def prometheus_latency() -> float | None:
    """Real seconds from a scrape target's death to Prometheus firing ``for: 1m``."""
    binary = shutil.which("prometheus")
    if binary is None:
        print("  prometheus not installed: reference skipped")
        return None
    folder = Path(tempfile.mkdtemp(prefix="cm-bench-prom-"))
    target_port, prom_port = free_port(), free_port()
    server = ThreadingHTTPServer(("127.0.0.1", target_port), _Target)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (folder / "rules.yml").write_text(
        "groups:\n- name: bench\n  rules:\n  - alert: TargetDown\n    expr: up == 0\n    for: 1m\n",
        encoding="utf-8",
    )
    (folder / "prometheus.yml").write_text(
        "global: {scrape_interval: 15s, evaluation_interval: 15s}\n"
        "rule_files: [rules.yml]\n"
        "scrape_configs:\n- job_name: bench\n"
        f"  static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        api = f"http://127.0.0.1:{prom_port}/api/v1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # bounded: until the target has been scraped up
            try:
                result = httpx.get(f"{api}/query", params={"query": "up"}, timeout=2).json()
                if result["data"]["result"] and result["data"]["result"][0]["value"][1] == "1":
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(1)
        time.sleep(random.uniform(0, 15))  # the outage falls anywhere in the scrape interval
        server.shutdown()
        server.server_close()
        down_at = time.monotonic()
        while time.monotonic() - down_at < 300:
            alerts = httpx.get(f"{api}/alerts", timeout=2).json()["data"]["alerts"]
            if any(a["state"] == "firing" for a in alerts):
                return time.monotonic() - down_at
            time.sleep(0.5)
        return None
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--province", default="79")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-prometheus", action="store_true")
    args = parser.parse_args()
    print("== throughput: journal -> state -> rules -> incidents -> tickets (SQLite)")
    throughput(args.province, args.minutes)
    print("== outage-to-notification latency (site outage, default timers)")
    ours = our_latency(args.runs)
    print(
        f"  commune-monitor: mean {statistics.mean(ours):.0f} s, max {max(ours):.0f} s "
        f"over {len(ours)} runs (to the e-mail at aiosmtpd)"
    )
    if args.no_prometheus:
        return
    measured = prometheus_latency()
    if measured is not None:
        total = measured + 30.0
        print(
            f"  Prometheus (scrape 15 s, for: 1m): alert firing after {measured:.0f} s; "
            f"+ Alertmanager group_wait 30 s = {total:.0f} s"
        )
        ratio = total / statistics.mean(ours)
        print(f"  ratio Prometheus+Alertmanager / commune-monitor (mean): {ratio:.1f}x")


if __name__ == "__main__":
    main()
