"""SNMP poll benchmark: the site agent's poller against Prometheus snmp_exporter, same devices.

    python benchmarks/snmp_poll.py [--targets 200] [--rounds 2] [--concurrency 8]

snmpsim serves the corpus of real-device recordings (tests/data/snmp) on 127.0.0.1; the targets
repeat them up to ``--targets``. Our poller (the ``snmp`` check with pysnmp) and Debian's
prometheus-snmp-exporter (modules ``if_mib`` and ``printer`` written here, since Debian ships no
snmp.yml) each poll every target ``--rounds`` times after one warm-up round. Printed: targets/s,
per-target p50/p99, values read, and each poller's own CPU seconds per 1,000 values (ours: this
process's CPU during our rounds; the exporter's: its process's CPU from /proc). snmpsim saturates
a core long before either poller, so compare CPU per value, not targets/s. Also printed: the wall
time of one poll of a 40-device commune. Only 127.0.0.1 is used; every process started here is
stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.checks.snmp.check import SnmpCheck, SnmpCheckConfig  # noqa: E402
from agent.checks.snmp.client import PysnmpClient  # noqa: E402
from agent.checks.snmp.config import SnmpTargetConfig  # noqa: E402
from agent.checks.snmp.errors import SnmpError  # noqa: E402
from agent.wire import DeviceReport  # noqa: E402
from tests.agent.checks.snmp.support import RECORDINGS_DIR as RECORDINGS  # noqa: E402
from tests.services import free_port, free_udp_port  # noqa: E402

PRINTERS = {
    path.name.removesuffix(".expected.json")
    for path in RECORDINGS.glob("*.expected.json")
    if json.loads(path.read_text(encoding="utf-8"))["kind"] == "printer"
}
EXPORTER = "/usr/bin/prometheus-snmp-exporter"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DEADLINE_SECONDS = 900  # the whole benchmark gives up after this


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextmanager
def started(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[int]:
    """Run ``command`` for the duration of the block; stop it by its PID afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def snmp_answers(port: int) -> bool:
    """True once snmpsim answers a GET."""
    client = PysnmpClient()
    target = SnmpTargetConfig(address="127.0.0.1", port=port, community="xerox", timeout=0.3)
    try:
        return bool(await client.get(target, [(1, 3, 6, 1, 2, 1, 1, 1, 0)]))
    except SnmpError:
        return False
    finally:
        await client.aclose()


def wait_until(ready: Any, what: str, timeout: float = 60.0) -> None:
    """Call ``ready()`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.2)


# --- our poller ------------------------------------------------------------------------------


@dataclass
class Run:
    """One poller's measured rounds."""

    wall: float
    cpu: float
    values: int
    durations: list[float]
    polls: int
    failures: int


def value(report: DeviceReport, name: str) -> float:
    """The unlabelled sample ``name`` of ``report``."""
    return next(s.value for s in report.samples if s.name == name and not s.labels)


def device_id(name: str) -> str:
    """``name`` as a device id ('+' is not allowed in ids)."""
    return re.sub(r"[^A-Za-z0-9._:@/-]", "_", name)


def run_ours(targets: list[tuple[str, str]], port: int, rounds: int, concurrency: int) -> Run:
    """Warm up once, then measure ``rounds`` polls of every target."""
    config = SnmpCheckConfig(
        targets=[
            {
                "address": "127.0.0.1",
                "port": port,
                "community": community,
                "device_id": device_id(name),
            }
            for name, community in targets
        ],
        max_concurrency=concurrency,
    )
    check = SnmpCheck(config)

    async def measure() -> Run:
        await check.collect()
        reports: list[DeviceReport] = []
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            reports += await check.collect()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return Run(
            wall=wall,
            cpu=cpu,
            values=int(sum(value(r, "snmp_poll_values") for r in reports)),
            durations=[value(r, "snmp_poll_duration_seconds") for r in reports],
            polls=len(reports),
            failures=sum(1 for r in reports if value(r, "snmp_up") != 1),
        )

    return asyncio.run(measure())


def commune_wall(targets: list[tuple[str, str]], port: int) -> list[float]:
    """Seconds of three polls of 40 devices (a large commune), after a warm-up poll."""
    config = SnmpCheckConfig(
        targets=[
            {
                "address": "127.0.0.1",
                "port": port,
                "community": community,
                "device_id": device_id(name),
            }
            for name, community in targets[:40]
        ],
        max_concurrency=16,
    )
    check = SnmpCheck(config)

    async def polls() -> list[float]:
        await check.collect()
        walls = []
        for _ in range(3):
            started_at = time.perf_counter()
            await check.collect()
            walls.append(time.perf_counter() - started_at)
        return walls

    return asyncio.run(polls())


# --- snmp_exporter ---------------------------------------------------------------------------


def _metric(name: str, oid: str, kind: str, index: str | None = None) -> dict[str, Any]:
    metric: dict[str, Any] = {"name": name, "oid": oid, "type": kind, "help": name}
    if index:
        metric["indexes"] = [{"labelname": index, "type": "gauge"}]
    return metric


def _if_mib(community: str) -> dict[str, Any]:
    """What snmp_exporter's generator makes of IF-MIB: walk ifTable and ifXTable."""
    table = "1.3.6.1.2.1.2.2.1."
    xtable = "1.3.6.1.2.1.31.1.1.1."
    names = {"ifDescr": "DisplayString", "ifName": "DisplayString", "ifAlias": "DisplayString"}
    metrics = [_metric("sysUpTime", "1.3.6.1.2.1.1.3", "gauge")]
    for column, name, kind in [
        (3, "ifType", "gauge"), (5, "ifSpeed", "gauge"), (7, "ifAdminStatus", "gauge"),
        (8, "ifOperStatus", "gauge"), (10, "ifInOctets", "counter"),
        (11, "ifInUcastPkts", "counter"), (13, "ifInDiscards", "counter"),
        (14, "ifInErrors", "counter"), (16, "ifOutOctets", "counter"),
        (17, "ifOutUcastPkts", "counter"), (19, "ifOutDiscards", "counter"),
        (20, "ifOutErrors", "counter"),
    ]:  # fmt: skip
        metrics.append(_metric(name, f"{table}{column}", kind, "ifIndex"))
    for column, name, kind in [
        (6, "ifHCInOctets", "counter"), (7, "ifHCInUcastPkts", "counter"),
        (10, "ifHCOutOctets", "counter"), (11, "ifHCOutUcastPkts", "counter"),
        (15, "ifHighSpeed", "gauge"),
    ]:  # fmt: skip
        metrics.append(_metric(name, f"{xtable}{column}", kind, "ifIndex"))
    lookups = [
        {"labels": ["ifIndex"], "labelname": label, "oid": oid, "type": kind}
        for label, oid, kind in [
            ("ifDescr", f"{table}2", names["ifDescr"]),
            ("ifName", f"{xtable}1", names["ifName"]),
            ("ifAlias", f"{xtable}18", names["ifAlias"]),
        ]
    ]
    for metric in metrics[1:]:
        metric["lookups"] = lookups
    return {
        "version": 2,
        "max_repetitions": 25,
        "retries": 1,
        "timeout": "5s",
        "auth": {"community": community},
        "get": ["1.3.6.1.2.1.1.3.0"],
        "walk": ["1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"],
        "metrics": metrics,
    }


def _printer(community: str) -> dict[str, Any]:
    """A hand-written Printer-MIB module: supplies, trays, page counter, status."""
    supplies = "1.3.6.1.2.1.43.11.1.1."
    inputs = "1.3.6.1.2.1.43.8.2.1."
    supply_index = [
        {"labelname": "hrDeviceIndex", "type": "gauge"},
        {"labelname": "prtMarkerSuppliesIndex", "type": "gauge"},
    ]
    input_index = [
        {"labelname": "hrDeviceIndex", "type": "gauge"},
        {"labelname": "prtInputIndex", "type": "gauge"},
    ]
    supply_lookup = [
        {
            "labels": ["hrDeviceIndex", "prtMarkerSuppliesIndex"],
            "labelname": "prtMarkerSuppliesDescription",
            "oid": f"{supplies}6",
            "type": "DisplayString",
        }
    ]
    metrics = []
    for column, name in [(5, "prtMarkerSuppliesType"), (8, "prtMarkerSuppliesMaxCapacity"),
                         (9, "prtMarkerSuppliesLevel")]:  # fmt: skip
        metrics.append(
            {
                "name": name,
                "oid": f"{supplies}{column}",
                "type": "gauge",
                "help": name,
                "indexes": supply_index,
                "lookups": supply_lookup,
            }
        )
    for column, name in [(9, "prtInputMaxCapacity"), (10, "prtInputCurrentLevel")]:
        metrics.append(
            {
                "name": name,
                "oid": f"{inputs}{column}",
                "type": "gauge",
                "help": name,
                "indexes": input_index,
            }
        )
    metrics += [
        {"name": "prtMarkerLifeCount", "oid": "1.3.6.1.2.1.43.10.2.1.4", "type": "counter",
         "help": "pages", "indexes": [{"labelname": "hrDeviceIndex", "type": "gauge"},
                                      {"labelname": "prtMarkerIndex", "type": "gauge"}]},
        _metric("hrDeviceStatus", "1.3.6.1.2.1.25.3.2.1.5", "gauge", "hrDeviceIndex"),
        _metric("hrPrinterStatus", "1.3.6.1.2.1.25.3.5.1.1", "gauge", "hrDeviceIndex"),
        _metric("hrPrinterDetectedErrorState", "1.3.6.1.2.1.25.3.5.1.2", "OctetString",
                "hrDeviceIndex"),
    ]  # fmt: skip
    return {
        "version": 2,
        "max_repetitions": 25,
        "retries": 1,
        "timeout": "5s",
        "auth": {"community": community},
        "walk": [
            "1.3.6.1.2.1.43.11.1.1", "1.3.6.1.2.1.43.8.2.1.9", "1.3.6.1.2.1.43.8.2.1.10",
            "1.3.6.1.2.1.43.10.2.1.4", "1.3.6.1.2.1.25.3.2.1.5", "1.3.6.1.2.1.25.3.5.1",
        ],
        "metrics": metrics,
    }  # fmt: skip


def exporter_config(communities: list[str]) -> dict[str, Any]:
    """snmp.yml for snmp_exporter 0.21, where a module carries its community: one per device."""
    config: dict[str, Any] = {}
    for community in communities:
        config[f"if_mib_{community}"] = _if_mib(community)
        if community in PRINTERS:
            config[f"printer_{community}"] = _printer(community)
    return config


PDUS = re.compile(r"^snmp_scrape_pdus_returned (\S+)$", re.MULTILINE)
DURATION = re.compile(r"^snmp_scrape_duration_seconds (\S+)$", re.MULTILINE)


def run_exporter(
    targets: list[tuple[str, str]], port: int, rounds: int, concurrency: int, workdir: Path
) -> Run:
    """Scrape every target ``rounds`` times through snmp_exporter after a warm-up round."""
    config_path = workdir / "snmp.yml"
    config_path.write_text(
        yaml.safe_dump(exporter_config(sorted({c for _n, c in targets}))), encoding="utf-8"
    )
    web_port = free_port()
    command = [
        EXPORTER,
        f"--config.file={config_path}",
        f"--web.listen-address=127.0.0.1:{web_port}",
        "--log.level=error",
    ]
    base = f"http://127.0.0.1:{web_port}"
    with started(command, workdir / "snmp_exporter.log") as pid:

        def up() -> bool:
            try:
                return httpx.get(base, timeout=1).status_code < 500
            except httpx.TransportError:
                return False

        wait_until(up, "snmp_exporter")

        async def scrape_all() -> tuple[list[float], int, int]:
            limit = asyncio.Semaphore(concurrency)
            durations: list[float] = []
            values = 0
            failures = 0
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:

                async def scrape(community: str) -> None:
                    nonlocal values, failures
                    modules = [f"if_mib_{community}"]
                    if community in PRINTERS:
                        modules.append(f"printer_{community}")
                    spent = 0.0
                    async with limit:
                        for module in modules:
                            params = {"target": f"127.0.0.1:{port}", "module": module}
                            text = (await http.get("/snmp", params=params)).text
                            pdus, duration = PDUS.search(text), DURATION.search(text)
                            if pdus is None or duration is None:
                                failures += 1
                                continue
                            values += int(float(pdus.group(1)))
                            spent += float(duration.group(1))
                    durations.append(spent)

                await asyncio.gather(*(scrape(community) for _name, community in targets))
            return durations, values, failures

        asyncio.run(scrape_all())
        cpu = process_cpu_seconds(pid)
        wall = time.perf_counter()
        durations: list[float] = []
        values = failures = 0
        for _ in range(rounds):
            more, got, failed = asyncio.run(scrape_all())
            durations += more
            values += got
            failures += failed
        wall = time.perf_counter() - wall
        cpu = process_cpu_seconds(pid) - cpu
    return Run(wall, cpu, values, durations, len(durations), failures)


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    """Run both pollers and print the figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=200, help="targets, default 200 (max 400)")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds, default 2 (max 5)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="targets polled at once by each poller, default 8 (more only queues in snmpsim)",
    )
    args = parser.parse_args()
    count, rounds = min(max(args.targets, 16), 400), min(max(args.rounds, 1), 5)
    binary = shutil.which("snmpsim-command-responder")
    if binary is None or not Path(EXPORTER).exists() or not RECORDINGS.is_dir():
        raise SystemExit(
            "needs snmpsim-command-responder (pip install snmpsim pysmi), "
            f"{EXPORTER} (apt install prometheus-snmp-exporter) and {RECORDINGS}"
        )
    names = sorted(p.stem for p in RECORDINGS.glob("*.snmprec"))
    targets = [(f"{names[i % len(names)]}-{i}", names[i % len(names)]) for i in range(count)]
    started_at = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="snmp-bench-") as tmp:
        workdir = Path(tmp)
        port = free_udp_port()
        command = [
            binary,
            f"--data-dir={RECORDINGS}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            f"--cache-dir={workdir / 'cache'}",
        ]
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}  # CI runs as root
        with started(command, workdir / "snmpsim.log", env) as snmpsim_pid:
            wait_until(lambda: asyncio.run(snmp_answers(port)), "snmpsim")
            print(f"snmpsim pid {snmpsim_pid} on 127.0.0.1:{port}; {count} targets over "
                  f"{len(names)} recordings; {rounds} measured rounds after 1 warm-up; "
                  f"concurrency {args.concurrency}", flush=True)  # fmt: skip
            commune = commune_wall(targets, port)
            ours = run_ours(targets, port, rounds, args.concurrency)
            if time.monotonic() - started_at > DEADLINE_SECONDS:
                raise SystemExit("deadline passed before snmp_exporter's turn")
            theirs = run_exporter(targets, port, rounds, args.concurrency, workdir)
    print_results(ours, theirs, commune, count)


def print_results(ours: Run, theirs: Run, commune: list[float], count: int) -> None:
    """The comparison table and the CPU-per-value ratio."""
    rows = [("commune-monitor (pysnmp)", ours), ("snmp_exporter 0.21 (Go)", theirs)]
    print()
    print(f"{'poller':<26}{'targets/s':>10}{'p50 s':>8}{'p99 s':>8}{'values':>10}"
          f"{'CPU s':>8}{'CPU s/1k values':>17}{'failed':>8}")  # fmt: skip
    for label, run in rows:
        per_k = run.cpu / run.values * 1000 if run.values else float("nan")
        print(
            f"{label:<26}{run.polls / run.wall:>10.1f}{percentile(run.durations, 0.5):>8.3f}"
            f"{percentile(run.durations, 0.99):>8.3f}{run.values:>10}{run.cpu:>8.2f}"
            f"{per_k:>17.4f}{run.failures:>8}"
        )
    ratio = (ours.cpu / ours.values) / (theirs.cpu / theirs.values)
    print()
    print(f"CPU per value, ours / snmp_exporter: {ratio:.1f}x")
    print(f"values per target per poll: ours {ours.values / ours.polls:.0f}, "
          f"snmp_exporter {theirs.values / theirs.polls:.0f}")  # fmt: skip
    print(f"CPU per target poll: ours {ours.cpu / ours.polls * 1000:.1f} ms, "
          f"snmp_exporter {theirs.cpu / theirs.polls * 1000:.1f} ms")  # fmt: skip
    print(
        "one poll of a 40-device commune (the first 40 recordings of the corpus): "
        f"median {sorted(commune)[1]:.2f} s, max {max(commune):.2f} s (target ≤ 5 s)"
    )
    print(f"({count} targets; wall figures are bound by snmpsim, one Python process)")


if __name__ == "__main__":
    main()
