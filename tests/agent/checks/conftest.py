"""Session fixtures for the SNMP check: one snmpsim serving the recordings of tests/data/snmp
over v1, v2c and SNMPv3 authPriv on 127.0.0.1, plus variants of them made for failure tests."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agent.checks.snmp.support import recordings_dir
from tests.services import free_udp_port, missing_service, require_binary

V3_USER = "commune-monitor"
V3_AUTH_KEY = "auth-key-0123456789"
V3_PRIV_KEY = "priv-key-0123456789"
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Snmpsim:
    """A running snmpsim: where it listens and what it serves."""

    port: int
    data_dir: Path
    recordings: Path

    def target(self, community: str, **options: Any) -> dict[str, Any]:
        """Options of a v2c target for the recording ``community`` (device_id = community, with
        characters a device id may not hold, such as '+', replaced by '_')."""
        return {
            "address": "127.0.0.1",
            "port": self.port,
            "community": community,
            "device_id": re.sub(r"[^A-Za-z0-9._:@/-]", "_", community),
            "timeout": 2.0,
            "retries": 1,
            **options,
        }

    def v3_target(self, context: str, **options: Any) -> dict[str, Any]:
        """Options of an SNMPv3 authPriv (SHA/AES) target for the recording ``context``."""
        return {
            "address": "127.0.0.1",
            "port": self.port,
            "version": "3",
            "v3": {
                "user": V3_USER,
                "auth_protocol": "SHA",
                "auth_key": V3_AUTH_KEY,
                "priv_protocol": "AES",
                "priv_key": V3_PRIV_KEY,
                "context": context,
            },
            "device_id": f"v3-{context}",
            "timeout": 2.0,
            "retries": 1,
            **options,
        }


def _records(path: Path) -> dict[str, str]:
    records: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        if line and not line.startswith("#"):
            oid, rest = line.split("|", 1)
            records[oid] = rest
    return records


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


def _write(path: Path, records: dict[str, str]) -> None:
    # snmpsim answers GETNEXT from the file order: keep it sorted by OID.
    ordered = sorted(records.items(), key=lambda item: _key(item[0]))
    text = "".join(f"{oid}|{rest}\n" for oid, rest in ordered)
    path.write_text(text, encoding="utf-8", errors="surrogateescape")


def make_variants(recordings: Path, data_dir: Path) -> None:
    """Recordings derived from the corpus for failure and event tests."""
    # The same router after a restart: small sysUpTime, counters restarted near zero.
    router = _records(recordings / "routeros_rb750gr3.snmprec")
    router["1.3.6.1.2.1.1.3.0"] = "67|1500"
    for oid, rest in list(router.items()):
        if oid.startswith(("1.3.6.1.2.1.31.1.1.1.6.", "1.3.6.1.2.1.31.1.1.1.10.")):
            tag, value = rest.split("|", 1)
            router[oid] = f"{tag}|{int(value) // 1000}"
    _write(data_dir / "restarted_router.snmprec", router)

    printer = _records(recordings / "brother.snmprec")
    # sysObjectID that is not an OID: the system group itself is garbage.
    bad_system = dict(printer, **{"1.3.6.1.2.1.1.2.0": "4|not-an-oid"})
    _write(data_dir / "garbage_system.snmprec", bad_system)
    # Table cells of the wrong type: the poll goes on without them.
    bad_cells = dict(
        printer,
        **{"1.3.6.1.2.1.43.11.1.1.9.1.2": "4|lots", "1.3.6.1.2.1.2.2.1.8.1": "4|up"},
    )
    _write(data_dir / "garbage_cells.snmprec", bad_cells)
    # A jammed printer: error bit 5 (RFC 2790) and an active jam alert (RFC 3805 prtAlertTable),
    # plus a binary-change notice that is not an active condition.
    jammed = dict(printer)
    jammed["1.3.6.1.2.1.25.3.5.1.2.1"] = "4x|04"
    for index, (severity, group, code, text) in enumerate(
        [(3, 13, 8, "Paper jam in tray 1"), (5, 6, 4, "Cover closed")], start=1
    ):
        jammed[f"1.3.6.1.2.1.43.18.1.1.2.1.{index}"] = f"2|{severity}"
        jammed[f"1.3.6.1.2.1.43.18.1.1.4.1.{index}"] = f"2|{group}"
        jammed[f"1.3.6.1.2.1.43.18.1.1.7.1.{index}"] = f"2|{code}"
        jammed[f"1.3.6.1.2.1.43.18.1.1.8.1.{index}"] = f"4|{text}"
    _write(data_dir / "jammed_printer.snmprec", jammed)

    # A switch of a vendor we have no profile for, whose agent's view ends before the
    # Printer-MIB: GETNEXT(1.3.6.1.2.1.43) gets endOfMibView over v2c/v3 (carrying the requested
    # name, RFC 3416 §4.2.2) and noSuchName over v1. BRIDGE-MIB dot1dBaseNumPorts.0 is added (the
    # LibreNMS recording was trimmed to what LibreNMS reads; the real TL-SG2008 has 8 ports).
    switch = {
        oid: rest
        for oid, rest in _records(recordings / "tplink_sg2008.snmprec").items()
        if _key(oid) < (1, 3, 6, 1, 2, 1, 43)
    }
    switch["1.3.6.1.2.1.1.2.0"] = "6|1.3.6.1.4.1.99999.1.1"
    switch["1.3.6.1.2.1.17.1.2.0"] = "2|8"
    _write(data_dir / "switch_view_ends_early.snmprec", switch)
    # A printer of a vendor we have no profile for: the Printer-MIB answers.
    printer_unknown = dict(printer, **{"1.3.6.1.2.1.1.2.0": "6|1.3.6.1.4.1.99999.2.1"})
    _write(data_dir / "printer_unknown_vendor.snmprec", printer_unknown)


async def _answers(port: int) -> bool:
    from agent.checks.snmp.client import PysnmpClient
    from agent.checks.snmp.config import SnmpTargetConfig
    from agent.checks.snmp.errors import SnmpError

    client = PysnmpClient()
    target = SnmpTargetConfig(
        address="127.0.0.1", port=port, community="xerox", timeout=0.3, retries=0
    )
    try:
        return bool(await client.get(target, [(1, 3, 6, 1, 2, 1, 1, 1, 0)]))
    except SnmpError:
        return False
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    """snmpsim on 127.0.0.1 serving copies of tests/data/snmp and the failure variants."""
    binary = require_binary("snmpsim-command-responder")
    recordings = recordings_dir()
    base = tmp_path_factory.mktemp("snmpsim")
    data_dir = base / "data"
    data_dir.mkdir()
    for recording in recordings.glob("*.snmprec"):
        shutil.copyfile(recording, data_dir / recording.name)
    make_variants(recordings, data_dir)
    port = free_udp_port()
    log_path = base / "snmpsim.log"
    command = [
        binary,
        f"--data-dir={data_dir}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        f"--cache-dir={base / 'cache'}",
        f"--v3-user={V3_USER}",
        f"--v3-auth-key={V3_AUTH_KEY}",
        "--v3-auth-proto=SHA",
        f"--v3-priv-key={V3_PRIV_KEY}",
        "--v3-priv-proto=AES",
    ]
    # We run as root in CI containers; snmpsim refuses root unless told it is intended.
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not asyncio.run(_answers(port)):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2_000:]
                missing_service(f"snmpsim (exit code {process.poll()}; log tail: {tail})")
        yield Snmpsim(port=port, data_dir=data_dir, recordings=recordings)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
