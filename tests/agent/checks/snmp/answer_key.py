"""Compare one poll of a recording with its answer key (``<name>.expected.json``, from LibreNMS).

Used by the recordings test (which fails on any undocumented difference) and by
``benchmarks/snmp_corpus.py`` (which prints them). A documented disagreement is listed in the
answer key's ``disagreements``: for that field our value must equal the documented ``ours``,
LibreNMS's the documented ``librenms``, and every evidence OID must hold the documented value in
the recording. Nothing is compared more loosely because of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.checks.snmp.error_state import ERROR_CONDITIONS
from agent.checks.snmp.values import Oid, Value, parse_oid
from agent.wire import DeviceReport, Sample
from tests.agent.checks.snmp.fake_agent import load_snmprec

IF_STATUS = {
    "up": 1, "down": 2, "testing": 3, "unknown": 4, "dormant": 5, "notPresent": 6,
    "lowerLayerDown": 7, "0": 0,
}  # fmt: skip
SPECIAL_STATES = {-1: "other", -2: "unknown", -3: "some_remaining"}
LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4."
ERROR_STATE = (1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2)
SUPPLY_LEVEL = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9)
SUPPLY_MAX = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 8)
SUPPLY_DESCRIPTION = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 6)
ALERT_SEVERITY = (1, 3, 6, 1, 2, 1, 43, 18, 1, 1, 2)
PERCENT_TOLERANCE = 0.5 + 1e-9  # LibreNMS rounds percentages to whole numbers


@dataclass(frozen=True)
class Difference:
    """One field where our poll and the answer key differ."""

    field: str
    ours: object
    librenms: object
    documented: bool

    def __str__(self) -> str:
        mark = "documented" if self.documented else "DIFFERS"
        return f"{self.field}: ours {self.ours!r}, LibreNMS {self.librenms!r} ({mark})"


def load_key(directory: Path, name: str) -> dict[str, Any]:
    """The answer key of recording ``name``."""
    data: dict[str, Any] = json.loads(
        (directory / f"{name}.expected.json").read_text(encoding="utf-8")
    )
    return data


def select(report: DeviceReport, name: str, **labels: str) -> list[Sample]:
    """Samples called ``name`` whose labels include ``labels``."""
    return [
        s
        for s in report.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def one(report: DeviceReport, name: str, **labels: str) -> float | None:
    """The value of the single matching sample, or None if there is none."""
    found = select(report, name, **labels)
    assert len(found) <= 1, f"{len(found)} samples {name}{labels}"
    return found[0].value if found else None


def decode_bits(raw: bytes) -> set[str]:
    """RFC 2790 bit order, written independently of the code under test."""
    bits = "".join(f"{octet:08b}" for octet in raw)
    return {ERROR_CONDITIONS[i][0] for i, bit in enumerate(bits[:15]) if bit == "1"}


def model_matches(ours: str | None, theirs: str) -> bool:
    """The same product: one name contains the other, ignoring case and punctuation
    ('Brother MFC-L2710DW series' names 'MFC-L2710DW'; 'C1200-8T-D' is 'C1200-8T-D V02')."""
    if not ours:
        return False
    a, b = (re.sub(r"[^0-9a-z]", "", text.lower()) for text in (ours, theirs))
    return bool(a and b) and (a in b or b in a)


def column(mib: dict[Oid, Value], root: Oid) -> dict[Oid, Value]:
    """Rows of one column of a recording: index → value."""
    return {oid[len(root) :]: v for oid, v in mib.items() if oid[: len(root)] == root}


class Comparison:
    """Collects the differences of one recording, honouring its documented disagreements."""

    def __init__(self, key: dict[str, Any], mib: dict[Oid, Value]) -> None:
        self.key = key
        self.mib = mib
        self.differences: list[Difference] = []
        self.problems: list[str] = []
        self.documented = {d["field"]: d for d in key.get("disagreements", [])}
        self.used: set[str] = set()

    def check(
        self,
        field: str,
        ours: object,
        theirs: object,
        same: Callable[[Any, Any], bool] = lambda a, b: bool(a == b),
    ) -> None:
        """Compare one field; a documented disagreement must hold exactly as documented."""
        documented = self.documented.get(field)
        if documented is not None:
            self.used.add(field)
            if ours != documented["ours"] or theirs != documented["librenms"]:
                self.problems.append(
                    f"{field}: documented ours={documented['ours']!r} "
                    f"librenms={documented['librenms']!r}, got ours={ours!r} librenms={theirs!r}"
                )
            self.differences.append(Difference(field, ours, theirs, documented=True))
            return
        if not same(ours, theirs):
            self.differences.append(Difference(field, ours, theirs, documented=False))

    def verify_evidence(self) -> None:
        """Every documented disagreement was used and its evidence OIDs hold their values."""
        for field, documented in self.documented.items():
            if field not in self.used:
                self.problems.append(f"{field}: documented disagreement never compared")
            for item in documented.get("evidence", []):
                value = self.mib.get(parse_oid(item["oid"]))
                if "hex" in item:
                    shown: object = value.hex() if isinstance(value, bytes) else value
                    wanted = str(item["hex"]).lower()
                elif "contains" in item:
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else ""
                    if str(item["contains"]) not in text:
                        self.problems.append(
                            f"{field}: evidence {item['oid']} does not contain {item['contains']!r}"
                        )
                    continue
                else:
                    shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    wanted = str(item["value"])
                if str(shown) != wanted:
                    self.problems.append(
                        f"{field}: evidence {item['oid']} is {shown!r} in the recording, "
                        f"not {wanted!r}"
                    )


def compare(report: DeviceReport, key: dict[str, Any], mib: dict[Oid, Value]) -> Comparison:
    """Every difference between one poll and its answer key.

    A part is compared only where LibreNMS ran the module that reads it (``librenms.modules``):
    a missing module is no evidence that the device has nothing there.
    """
    result = Comparison(key, mib)
    modules = set(key["librenms"].get("modules", []))
    result.check("kind", report.kind.value, key["kind"])
    _system(result, report, key["system"])
    if "printer-supplies" in modules:
        _supplies(result, report, key, mib)
    _printer(result, report, key, mib, with_sensors="sensors" in modules)
    if "ports" in modules:
        _interfaces(result, report, key.get("interfaces", []))
    _resources(result, report, key, modules)
    result.verify_evidence()
    return result


def _close_lists(ours: list[float], theirs: list[float]) -> bool:
    # LibreNMS stores whole percentages (an EdgeSwitch's "31.1134%" becomes 31).
    return len(ours) == len(theirs) and all(
        abs(a - b) <= PERCENT_TOLERANCE for a, b in zip(ours, theirs, strict=True)
    )


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def _system(result: Comparison, report: DeviceReport, system: dict[str, Any]) -> None:
    facts = report.facts
    if "sysName" in system:
        result.check("system.sysName", facts.get("sys_name", ""), system["sysName"])
    if "sysDescr" in system:
        # LibreNMS's copy of sysDescr may differ in whitespace and line breaks.
        want = " ".join(system["sysDescr"].split())[:256]
        result.check("system.sysDescr", facts.get("sys_descr", ""), want)
    result.check("system.sysObjectID", facts.get("sys_object_id"), system["sysObjectID"])
    if system.get("serial"):
        result.check("system.serial", facts.get("serial"), system["serial"])
    if system.get("hardware"):
        result.check("system.hardware", facts.get("model"), system["hardware"], model_matches)


def _supplies(
    result: Comparison, report: DeviceReport, key: dict[str, Any], mib: dict[Oid, Value]
) -> None:
    supplies = key.get("supplies", [])
    markers = [s for s in supplies if s["type"] != "input"]
    levels = column(mib, SUPPLY_LEVEL)
    maxima = column(mib, SUPPLY_MAX)
    descriptions = column(mib, SUPPLY_DESCRIPTION)
    # LibreNMS drops a row whose level is -2 (unknown) or that lacks a level, maximum or
    # description; we report those rows (as 'unknown'), so they join the expected set.
    dropped = {
        str(index[-1])
        for index in set(levels) | set(maxima) | set(descriptions)
        if levels.get(index) == -2
        or not (index in levels and index in maxima)
        or index not in descriptions
    }
    ours = {s.labels["supply"] for s in select(report, "printer_supply_state")}
    result.check(
        "supplies.markers", sorted(ours), sorted({str(s["index"]) for s in markers} | dropped)
    )
    for supply in supplies:
        _supply(result, report, supply)


def _supply(result: Comparison, report: DeviceReport, supply: dict[str, Any]) -> None:
    tray = supply["type"] == "input"
    prefix = "printer_input" if tray else "printer_supply"
    where = {"input" if tray else "supply": str(supply["index"])}
    field = f"supplies.{'input' if tray else 'marker'}.{supply['index']}"
    states = select(report, f"{prefix}_state", **where)
    if len(states) != 1:
        result.check(f"{field}.present", len(states), 1)
        return
    labels = states[0].labels
    result.check(f"{field}.description", labels["description"], supply["description"])
    if not tray:
        # LibreNMS says 'markerSupply' where the recording has no prtMarkerSuppliesType.
        want_type = "unknown" if supply["type"] == "markerSupply" else supply["type"]
        result.check(f"{field}.type", labels["type"], want_type)
    level = supply.get("raw_level")
    capacity = supply.get("raw_max_capacity")
    percent = one(report, f"{prefix}_level_percent", **where)
    if level is None:
        return
    if level >= 0:
        result.check(f"{field}.raw_level", one(report, f"{prefix}_level_raw", **where), level)
    else:
        want_state = SPECIAL_STATES.get(level)
        if want_state is not None:
            result.check(f"{field}.state", labels["state"], want_state)
        # A special value never becomes a number.
        result.check(f"{field}.percent_of_special", percent, None)
    if capacity is not None:
        result.check(
            f"{field}.capacity",
            one(report, f"{prefix}_capacity_raw", **where),
            capacity if capacity >= 0 else None,
        )
    if (
        level >= 0
        and capacity is not None
        and capacity > 0
        and supply.get("level_in_recording", True)
    ):
        result.check(
            f"{field}.percent",
            percent,
            supply["percent"],
            lambda a, b: a is not None and abs(a - b) <= PERCENT_TOLERANCE,
        )


def _printer(
    result: Comparison,
    report: DeviceReport,
    key: dict[str, Any],
    mib: dict[Oid, Value],
    *,
    with_sensors: bool,
) -> None:
    life = [c for c in key.get("page_counters", []) if c["oid"].startswith(LIFE_COUNT)]
    if with_sensors:
        pages = len(select(report, "printer_pages_total"))
        result.check("page_counters.count", pages, len(life))
    for counter in life:
        marker = counter["oid"].rsplit(".", 1)[1]
        result.check(
            f"page_counters.{marker}",
            one(report, "printer_pages_total", marker=marker),
            counter["value"],
        )
    raw_error_state: dict[str, bytes] = {}
    librenms_state: dict[str, str] = {}
    for status in key.get("printer_status", []):
        index = status["oid"].rsplit(".", 1)[1]
        if status["sensor_type"] == "hrDeviceStatus":
            result.check(
                f"printer_status.{index}", one(report, "printer_status", printer=index),
                status["value"],
            )  # fmt: skip
        elif status.get("raw_snmprec", {}).get("type") == "4x":
            raw_error_state[index] = bytes.fromhex(status["raw_snmprec"]["value"])
            librenms_state[index] = status.get("state", "")
    if key["kind"] == "printer":
        # Read the error state from the recording too: LibreNMS has no sensor for an empty one.
        for index, value in column(mib, ERROR_STATE).items():
            if isinstance(value, bytes):
                raw_error_state.setdefault(".".join(map(str, index)), value)
    for index, raw in raw_error_state.items():
        active = decode_bits(raw)
        for condition, _cls, _sev in ERROR_CONDITIONS:
            result.check(
                f"error_bits.{index}.{condition}",
                one(report, "printer_error", printer=index, condition=condition),
                1 if condition in active else 0,
            )
        events = {e.attrs["condition"] for e in report.events if e.type == "printer_error"}
        result.check(f"error_bits.{index}.events", sorted(events), sorted(active))
        if index in librenms_state:
            # LibreNMS collapses the bits into one state; "Normal" must mean no bit is set.
            ours_normal = not select(report, "printer_error", printer=index) or not any(
                s.value for s in select(report, "printer_error", printer=index)
            )
            result.check(
                f"error_state.{index}.normal", ours_normal, librenms_state[index] == "Normal"
            )
    if not raw_error_state:
        result.check("error_bits.absent", len(select(report, "printer_error")), 0)
    if key["kind"] == "printer":
        # No recording holds prtAlertTable rows; when one does, count its active rows (RFC 3805:
        # every severity but warningBinaryChangeEvent(5) is a condition still present).
        alerts = [v for v in column(mib, ALERT_SEVERITY).values() if v in (1, 3, 4)]
        result.check("alerts.active", one(report, "printer_alerts_active"), len(alerts))


def _interfaces(result: Comparison, report: DeviceReport, interfaces: list[dict[str, Any]]) -> None:
    result.check(
        "interfaces.count",
        len(select(report, "if_info")) >= len(interfaces),
        True,
    )
    for interface in interfaces:
        index = interface["ifIndex"]
        where = {"if_index": str(index)}
        field = f"interfaces.{index}"
        info = select(report, "if_info", **where)
        if len(info) != 1:
            result.check(f"{field}.present", len(info), 1)
            continue
        # Our labels collapse runs of whitespace ("CPU Interface:  5/1"); compare words.
        names = {_words(interface.get("ifName")), _words(interface.get("ifDescr"))}
        result.check(f"{field}.name", info[0].labels["interface"], names, lambda a, b: a in b)
        if not info[0].labels["type"].isdigit() and "ifType" in interface:
            result.check(f"{field}.type", info[0].labels["type"], interface["ifType"])
        oper = one(report, "if_oper_status", **where)
        if "ifOperStatus" in interface:
            want = IF_STATUS[interface["ifOperStatus"]]
            result.check(f"{field}.ifOperStatus", oper, want)
            result.check(f"{field}.oper_up", one(report, "if_oper_up", **where), int(want == 1))
        if "ifAdminStatus" in interface:
            admin = IF_STATUS[interface["ifAdminStatus"]]
            result.check(f"{field}.ifAdminStatus", one(report, "if_admin_status", **where), admin)
        if "ifSpeed" in interface:
            result.check(
                f"{field}.ifSpeed",
                one(report, "if_speed_bits_per_second", **where),
                interface["ifSpeed"],
            )
        octets_in = one(report, "if_in_octets_total", **where)
        octets_out = one(report, "if_out_octets_total", **where)
        if oper != 1 or not interface.get("octets_in_recording", True):
            # Counters are reported only for interfaces that are up, and only if recorded.
            result.check(f"{field}.octets", (octets_in, octets_out), (None, None))
        else:
            result.check(f"{field}.ifInOctets", octets_in, interface.get("ifInOctets"))
            result.check(f"{field}.ifOutOctets", octets_out, interface.get("ifOutOctets"))


def _resources(
    result: Comparison, report: DeviceReport, key: dict[str, Any], modules: set[str]
) -> None:
    if "processors" in modules:
        ours = sorted(s.value for s in select(report, "cpu_percent"))
        want = sorted(p["usage_percent"] for p in key.get("processors", []))
        result.check("processors", ours, want, _close_lists)
    if "mempools" not in modules:
        return
    pools = key.get("mempools", [])
    memory = select(report, "memory_used_percent")
    result.check("mempools.count", len(memory), len(pools))
    unmatched = list(memory)
    for pool in pools:
        field = f"mempools.{pool['type']}.{pool['index']}"
        if pool["type"] == "hrstorage":
            found = [s for s in unmatched if s.labels["pool"] == pool["description"]]
        else:
            # Vendor pools are named differently by LibreNMS; match them by value.
            found = [s for s in unmatched if abs(s.value - pool["percent"]) <= PERCENT_TOLERANCE]
        value = found[0].value if found else None
        result.check(
            field,
            value,
            pool["percent"],
            lambda a, b: a is not None and abs(a - b) <= PERCENT_TOLERANCE,
        )
        if found:
            unmatched.remove(found[0])


def compare_recording(directory: Path, name: str, report: DeviceReport) -> Comparison:
    """Load the answer key and recording ``name`` and compare ``report`` with them."""
    return compare(report, load_key(directory, name), load_snmprec(directory / f"{name}.snmprec"))
