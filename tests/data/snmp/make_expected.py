"""Build the SNMP test corpus from a LibreNMS git directory: copy recordings, derive answer keys.

    python tests/data/snmp/make_expected.py --librenms-git DIR [--commit SHA] [--check] [NAME ...]
    python tests/data/snmp/make_expected.py --table     # the README's table of recordings

For every recording listed in ``corpus.yaml`` beside this file it

- copies ``tests/snmpsim/<name>.snmprec`` byte for byte (and checks the copy's git blob hash),
- writes ``<name>.expected.json`` (schema_version 1, described in README.md) from LibreNMS's
  ``tests/data/<name>.json``: values are copied and renamed, never computed, except the
  ``raw_*`` fields and the ``*_in_recording`` flags, which are read from the recording itself,
- adds our own fields from ``corpus.yaml``: ``kind``, ``brand_model`` and ``disagreements``.

``--check`` writes nothing and exits 1 if any file differs from what it would write, so a
reviewer can confirm that the committed files are exactly this derivation. The recordings and
LibreNMS's data are GPL-3.0 (see README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.yaml"
DEFAULT_COMMIT = "4ab87302fab931133343754d0c9b3ffe5ec278bc"
SUPPLY_LEVEL = "1.3.6.1.2.1.43.11.1.1.9."
INPUT_LEVEL = "1.3.6.1.2.1.43.8.2.1.10."
IF_COUNTERS = (
    "1.3.6.1.2.1.31.1.1.1.6.",  # ifHCInOctets
    "1.3.6.1.2.1.2.2.1.10.",  # ifInOctets
)
PRINTER_STATUS_SENSORS = ("hrDeviceStatus", "hrPrinterDetectedErrorState")


class Repo:
    """Reads files of one commit of a (bare) git directory."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir = git_dir
        self.commit = commit

    def _git(self, *args: str) -> bytes:
        result = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], capture_output=True, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"git {' '.join(args)}: {result.stderr.decode().strip()}")
        return result.stdout

    def read(self, path: str) -> bytes:
        """The bytes of ``path`` at the commit."""
        return self._git("show", f"{self.commit}:{path}")

    def blob(self, path: str) -> str:
        """The git blob id of ``path`` at the commit."""
        return self._git("rev-parse", f"{self.commit}:{path}").decode().strip()


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()  # noqa: S324


def snmprec(data: bytes) -> dict[str, tuple[str, str]]:
    """OID (no leading dot) → (snmprec type tag, value text) of a recording."""
    records: dict[str, tuple[str, str]] = {}
    for line in data.decode("utf-8", errors="surrogateescape").splitlines():
        if not line or line.startswith("#") or line.count("|") < 2:
            continue
        oid, tag, value = line.split("|", 2)
        records.setdefault(oid.lstrip("."), (tag, value))
    return records


def section(module: dict[str, Any] | None, prefer: str) -> dict[str, Any]:
    """A module's ``prefer`` section ('poller' or 'discovery'); LibreNMS writes the string
    'matches discovery' when the poller changed nothing."""
    if not module:
        return {}
    chosen = module.get(prefer)
    if isinstance(chosen, dict):
        return chosen
    found = module.get("discovery")
    return found if isinstance(found, dict) else {}


def oid_text(oid: str | None) -> str:
    """An OID without its leading dot."""
    return (oid or "").lstrip(".")


def int_or_none(text: str) -> int | None:
    """The integer in a snmprec value, or None if it is not one."""
    try:
        return int(text)
    except ValueError:
        return None


def without_nulls(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without the keys whose value LibreNMS stored as null."""
    return {key: value for key, value in row.items() if value is not None}


def system_of(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(librenms os/type/modules, system fields) from the 'os' module; 'modules' lists the
    LibreNMS modules the oracle holds, so a field is compared only where LibreNMS looked."""
    devices = section(data.get("os"), "poller").get("devices") or [{}]
    device = devices[0]
    system = without_nulls(
        {
            "sysName": device.get("sysName"),
            "sysDescr": device.get("sysDescr"),
            "sysObjectID": oid_text(device.get("sysObjectID")) or None,
            "hardware": device.get("hardware"),
            "serial": device.get("serial"),
            "version": device.get("version"),
        }
    )
    librenms = {"os": device.get("os"), "type": device.get("type"), "modules": sorted(data)}
    return librenms, system


def supplies_of(data: dict[str, Any], records: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Marker supplies and paper trays as LibreNMS recorded them, with the raw values."""
    rows = section(data.get("printer-supplies"), "poller").get("printer_supplies", [])
    supplies = []
    for row in rows:
        level_oid = oid_text(row.get("supply_oid"))
        capacity_oid = oid_text(row.get("supply_capacity_oid"))
        supply: dict[str, Any] = {
            "index": row.get("supply_index"),
            "type": row.get("supply_type"),
            "description": row.get("supply_descr"),
            "capacity": row.get("supply_capacity"),
            "percent": row.get("supply_current"),
            "level_oid": level_oid,
            "capacity_oid": capacity_oid,
        }
        level = records.get(level_oid)
        capacity = records.get(capacity_oid)
        if level is not None:
            supply["raw_level"] = int_or_none(level[1])
        if capacity is not None:
            supply["raw_max_capacity"] = int_or_none(capacity[1])
        if level is None or not level_oid.startswith((SUPPLY_LEVEL, INPUT_LEVEL)):
            # LibreNMS read the level from a vendor fallback OID the recording does not hold.
            supply["level_in_recording"] = level is not None
        supplies.append(without_nulls(supply))
    return supplies


def sensors_of(
    data: dict[str, Any], records: dict[str, tuple[str, str]], printer: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(page counters, printer status sensors) from the 'sensors' module; LibreNMS 'count'
    sensors are page counters only on printers (elsewhere they count sessions, PoE ports...)."""
    found = section(data.get("sensors"), "poller")
    states = {
        (s.get("state_name"), s.get("state_value")): s.get("state_descr")
        for s in found.get("state_indexes", [])
    }
    counters, status = [], []
    for sensor in found.get("sensors", []):
        oid = oid_text(sensor.get("sensor_oid"))
        if sensor.get("sensor_class") == "count" and printer:
            counters.append(
                {
                    "description": sensor.get("sensor_descr"),
                    "oid": oid,
                    "value": sensor.get("sensor_current"),
                    "sensor_type": sensor.get("sensor_type"),
                }
            )
        elif sensor.get("sensor_type") in PRINTER_STATUS_SENSORS:
            entry: dict[str, Any] = {
                "description": sensor.get("sensor_descr"),
                "sensor_type": sensor.get("sensor_type"),
                "oid": oid,
                "value": sensor.get("sensor_current"),
                "state": states.get((sensor.get("state_name"), sensor.get("sensor_current"))),
            }
            raw = records.get(oid)
            if raw is not None:
                entry["raw_snmprec"] = {"type": raw[0], "value": raw[1]}
            status.append(without_nulls(entry))
    return counters, status


def interfaces_of(
    data: dict[str, Any], records: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    """The ports LibreNMS kept after one poll (deleted ports left out)."""
    rows = section(data.get("ports"), "poller").get("ports", [])
    interfaces = []
    for row in rows:
        if row.get("deleted"):
            continue
        index = row.get("ifIndex")
        entry = without_nulls(
            {
                "ifIndex": index,
                "ifName": row.get("ifName"),
                "ifDescr": row.get("ifDescr"),
                "ifType": row.get("ifType"),
                "ifAdminStatus": row.get("ifAdminStatus"),
                "ifOperStatus": row.get("ifOperStatus"),
                "ifSpeed": row.get("ifSpeed"),
                "ifInOctets": row.get("ifInOctets"),
                "ifOutOctets": row.get("ifOutOctets"),
            }
        )
        if not any(f"{prefix}{index}" in records for prefix in IF_COUNTERS):
            entry["octets_in_recording"] = False
        interfaces.append(entry)
    return interfaces


def processors_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Processors as LibreNMS polled them."""
    return [
        without_nulls(
            {
                "description": row.get("processor_descr"),
                "usage_percent": row.get("processor_usage"),
                "type": row.get("processor_type"),
                "index": row.get("processor_index"),
                "oid": oid_text(row.get("processor_oid")),
                "precision": row.get("processor_precision"),
            }
        )
        for row in section(data.get("processors"), "poller").get("processors", [])
    ]


def mempools_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Memory pools as LibreNMS polled them."""
    return [
        without_nulls(
            {
                "description": row.get("mempool_descr"),
                "class": row.get("mempool_class"),
                "type": row.get("mempool_type"),
                "index": row.get("mempool_index"),
                "percent": row.get("mempool_perc"),
                "total": row.get("mempool_total"),
                "used": row.get("mempool_used"),
                "free": row.get("mempool_free"),
            }
        )
        for row in section(data.get("mempools"), "poller").get("mempools", [])
        if not row.get("mempool_deleted")
    ]


def detection_only(name: str, repo: Repo, records: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The answer of LibreNMS's OS detection test for a recording without tests/data JSON.

    LibreNMS's tests/OSDiscoveryTest.php detects every tests/snmpsim file and expects the OS
    named by the file stem (before any '_'); that OS's type is in
    resources/definitions/os_detection/<os>.yaml. Nothing else is known about the device, so
    the system group holds only sysObjectID, copied from the recording.
    """
    os_name = name.split("_", 1)[0]
    definition = yaml.safe_load(repo.read(f"resources/definitions/os_detection/{os_name}.yaml"))
    object_id = records.get("1.3.6.1.2.1.1.2.0", ("", ""))[1]
    return {
        "librenms": {"os": os_name, "type": definition["type"], "modules": []},
        "system": {"sysObjectID": object_id},
        "oracle": f"tests/OSDiscoveryTest.php; resources/definitions/os_detection/{os_name}.yaml",
    }


def expected_for(entry: dict[str, Any], repo: Repo, recording: bytes) -> dict[str, Any]:
    """The answer key of one corpus entry."""
    name = entry["name"]
    records = snmprec(recording)
    if entry.get("answer_key") == "os_detection":
        found = detection_only(name, repo, records)
        data: dict[str, Any] = {}
        librenms, system, oracle = found["librenms"], found["system"], found["oracle"]
    else:
        data = json.loads(repo.read(f"tests/data/{name}.json"))
        librenms, system = system_of(data)
        oracle = f"tests/data/{name}.json"
    key: dict[str, Any] = {
        "schema_version": 1,
        "name": name,
        "community": name,
        "kind": entry["kind"],
        "brand_model": entry["brand_model"],
        "source": {
            "project": "LibreNMS",
            "repository": "librenms/librenms",
            "commit": repo.commit,
            "recording": f"tests/snmpsim/{name}.snmprec",
            "oracle": oracle,
            "license": "GPL-3.0",
        },
        "librenms": librenms,
        "system": system,
    }
    supplies = supplies_of(data, records)
    counters, status = sensors_of(data, records, librenms["type"] == "printer")
    parts = {
        "supplies": supplies,
        "page_counters": counters,
        "printer_status": status,
        "interfaces": interfaces_of(data, records),
        "processors": processors_of(data),
        "mempools": mempools_of(data),
    }
    for field, rows in parts.items():
        if rows:
            key[field] = rows
    if entry.get("disagreements"):
        key["disagreements"] = entry["disagreements"]
    return key


def table() -> str:
    """The README's table of recordings, from the answer keys on disk."""
    rows = [
        "| file | kind | brand / model (ours) | LibreNMS os | supplies | interfaces | cpu/mem "
        "| disagreements |",
        "|---|---|---|---|---|---|---|---|",
    ]
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["recordings"]
    for entry in corpus:
        key = json.loads((HERE / f"{entry['name']}.expected.json").read_text(encoding="utf-8"))
        supplies = key.get("supplies", [])
        trays = sum(1 for s in supplies if s["type"] == "input")
        modules = key["librenms"]["modules"]
        counts = (
            f"{len(supplies) - trays} marker + {trays} tray"
            if "printer-supplies" in modules
            else "-"
        )
        ports = str(len(key.get("interfaces", []))) if "ports" in modules else "-"
        cpu = str(len(key.get("processors", []))) if "processors" in modules else "-"
        mem = str(len(key.get("mempools", []))) if "mempools" in modules else "-"
        fields = ", ".join(d["field"] for d in key.get("disagreements", [])) or "-"
        rows.append(
            f"| `{entry['name']}.snmprec` | {key['kind']} | {key['brand_model']} "
            f"| {key['librenms']['os']} | {counts} | {ports} | {cpu}/{mem} | {fields} |"
        )
    return "\n".join(rows)


def main() -> int:
    """Copy and derive every listed recording (or check that the files are up to date)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--table", action="store_true", help="print the README table and exit")
    parser.add_argument("--librenms-git", type=Path, help="a LibreNMS git dir")
    parser.add_argument("--commit", default=DEFAULT_COMMIT, help="commit to read from")
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    parser.add_argument("names", nargs="*", help="only these recordings (default: all)")
    args = parser.parse_args()
    if args.table:
        print(table())
        return 0
    if args.librenms_git is None:
        parser.error("--librenms-git is required (a bare or normal LibreNMS git directory)")
    repo = Repo(args.librenms_git, args.commit)
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["recordings"]
    stale = []
    for entry in corpus:
        name = entry["name"]
        if args.names and name not in args.names:
            continue
        recording = repo.read(f"tests/snmpsim/{name}.snmprec")
        if blob_id(recording) != repo.blob(f"tests/snmpsim/{name}.snmprec"):
            raise SystemExit(f"{name}: the copy does not match its git blob")
        text = json.dumps(expected_for(entry, repo, recording), indent=2, ensure_ascii=False)
        files = {
            HERE / f"{name}.snmprec": recording,
            HERE / f"{name}.expected.json": (text + "\n").encode(),
        }
        for path, content in files.items():
            if path.is_file() and path.read_bytes() == content:
                continue
            stale.append(path.name)
            if not args.check:
                path.write_bytes(content)
    if stale:
        print(("differ: " if args.check else "written: ") + ", ".join(stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
