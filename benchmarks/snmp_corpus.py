"""SNMP corpus report: every recording of tests/data/snmp polled and compared with its answer key.

    python benchmarks/snmp_corpus.py [--fake] [NAME ...]

snmpsim serves the recordings on 127.0.0.1 and the site agent's ``snmp`` check polls each
once, as a new user's agent would (v2c, kind 'auto'). Printed, one line per recording: the
kind, model and serial found, the number of supplies and interfaces, and the fields that
differ from LibreNMS's answer key (documented disagreements marked as such); then the summary
line "N/M recordings match" (a recording matches when every difference is documented) and the
time taken. ``--fake`` polls an in-memory agent fed by the same files instead of snmpsim.
Only 127.0.0.1 is used; the snmpsim started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.checks.snmp.check import SnmpCheck, SnmpCheckConfig  # noqa: E402
from agent.wire import DeviceReport  # noqa: E402
from benchmarks.snmp_poll import snmp_answers  # noqa: E402
from tests.agent.checks.snmp.answer_key import Comparison, compare_recording, select  # noqa: E402
from tests.agent.checks.snmp.fake_agent import FakeAgent, recording_device  # noqa: E402
from tests.agent.checks.snmp.support import RECORDINGS_DIR  # noqa: E402
from tests.services import free_udp_port  # noqa: E402

STARTUP_SECONDS = 120.0


def device_id(name: str) -> str:
    """A device id for recording ``name`` ('+' is not allowed in ids)."""
    return re.sub(r"[^A-Za-z0-9._:@/-]", "_", name)


@contextmanager
def snmpsim(data_dir: Path, workdir: Path) -> Iterator[int]:
    """snmpsim serving ``data_dir`` on a free 127.0.0.1 port; stopped by its PID afterwards."""
    binary = shutil.which("snmpsim-command-responder")
    if binary is None:
        raise SystemExit("needs snmpsim-command-responder (pip install snmpsim pysmi)")
    port = free_udp_port()
    command = [
        binary,
        f"--data-dir={data_dir}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        f"--cache-dir={workdir / 'cache'}",
    ]
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}  # CI runs as root
    with (workdir / "snmpsim.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not asyncio.run(snmp_answers(port)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"snmpsim did not start; see {workdir / 'snmpsim.log'}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def poll_all(names: list[str], port: int | None) -> dict[str, DeviceReport]:
    """One poll of every recording: through snmpsim on ``port``, or a fake agent if None."""
    address = {"address": "127.0.0.1", "port": port or 161}
    targets = [{**address, "community": name, "device_id": device_id(name)} for name in names]
    config = SnmpCheckConfig(targets=targets, max_concurrency=8)
    if port is None:
        agent = FakeAgent()
        for name in names:
            agent.add(name, recording_device(RECORDINGS_DIR / f"{name}.snmprec"))
        check = SnmpCheck(config, client_factory=lambda: agent)
    else:
        check = SnmpCheck(config)
    return dict(zip(names, asyncio.run(check.collect()), strict=True))


def line(name: str, report: DeviceReport, comparison: Comparison) -> str:
    """One recording's row of the report."""
    facts = report.facts
    supplies = len(select(report, "printer_supply_state"))
    trays = len(select(report, "printer_input_state"))
    interfaces = len(select(report, "if_info"))
    differing = [d for d in comparison.differences if not d.documented]
    documented = [d for d in comparison.differences if d.documented]
    verdict = "match" if not differing and not comparison.problems else "DIFFERS"
    text = (
        f"{name:<26} {report.kind.value:<12} model={facts.get('model', '-')!r:<34} "
        f"serial={facts.get('serial', '-')!r:<24} supplies={supplies}+{trays} "
        f"interfaces={interfaces:<4} {verdict}"
    )
    if documented:
        text += f" ({len(documented)} documented: {', '.join(d.field for d in documented)})"
    for difference in differing:
        text += f"\n    {difference}"
    for problem in comparison.problems:
        text += f"\n    {problem}"
    return text


def main() -> int:
    """Poll, compare and print; exit 1 if any recording differs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fake", action="store_true", help="use the in-memory agent, no snmpsim")
    parser.add_argument("names", nargs="*", help="only these recordings (default: all)")
    args = parser.parse_args()
    names = sorted(p.stem for p in RECORDINGS_DIR.glob("*.snmprec"))
    if args.names:
        names = [n for n in names if n in args.names]
    if not names:
        raise SystemExit(f"no recordings in {RECORDINGS_DIR}")
    started = time.perf_counter()
    if args.fake:
        reports = poll_all(names, None)
    else:
        with tempfile.TemporaryDirectory(prefix="snmp-corpus-") as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            for name in names:
                shutil.copyfile(RECORDINGS_DIR / f"{name}.snmprec", data / f"{name}.snmprec")
            with snmpsim(data, Path(tmp)) as port:
                reports = poll_all(names, port)
    elapsed = time.perf_counter() - started
    matching = 0
    documented = 0
    for name in names:
        comparison = compare_recording(RECORDINGS_DIR, name, reports[name])
        print(line(name, reports[name], comparison))
        if not comparison.problems and all(d.documented for d in comparison.differences):
            matching += 1
        documented += sum(1 for d in comparison.differences if d.documented)
    source = "fake agent" if args.fake else "snmpsim on 127.0.0.1"
    print()
    print(f"{matching}/{len(names)} recordings match their answer keys "
          f"({documented} documented disagreements; {source}, {elapsed:.1f} s)")  # fmt: skip
    return 0 if matching == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
