"""Device profiles as data: the file loads, classifies every recording as its answer key says,
and bad files are refused with the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.checks.snmp.errors import SnmpConfigError
from agent.checks.snmp.profiles import load_profiles
from agent.checks.snmp.values import parse_oid
from tests.agent.checks.snmp.support import RECORDINGS_DIR

RECORDINGS = sorted(RECORDINGS_DIR.glob("*.expected.json"))


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name.split(".")[0])
def test_each_recording_is_classified_as_its_answer_key_says(path: Path) -> None:
    key = json.loads(path.read_text(encoding="utf-8"))
    system = key["system"]
    found = load_profiles().classify(parse_oid(system["sysObjectID"]), system.get("sysDescr", ""))
    assert found.vendor is not None
    assert found.kind == key["kind"]


def test_an_unknown_enterprise_has_no_profile() -> None:
    found = load_profiles().classify(parse_oid("1.3.6.1.4.1.99999.1"), "")
    assert found.vendor is None
    assert found.kind is None


def test_the_longest_enterprise_prefix_wins_and_kind_rules_refine() -> None:
    profiles = load_profiles()
    switch = profiles.classify(parse_oid("1.3.6.1.4.1.11.2.3.7.11.1"), "HP J9773A 2530-24G")
    assert switch.vendor is not None
    assert (switch.vendor.vendor, switch.kind) == ("hp", "switch")
    printer = profiles.classify(parse_oid("1.3.6.1.4.1.11.2.3.9.1"), "HP ETHERNET")
    assert printer.kind == "printer"
    # 1.3.6.1.4.1.9 (Cisco) must not match 1.3.6.1.4.1.99.
    assert profiles.classify(parse_oid("1.3.6.1.4.1.99.1"), "").vendor is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("vendors: [{vendor: x, enterprise: 'not-an-oid', kind: printer}]", "numeric OID"),
        ("vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: toaster}]", "vendors.0.kind"),
        (
            "vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: router, "
            "cpu: [{oid: 1.3.6.1.4.1.5.1.0, scalar: true}]}]",
            "needs a 'label'",
        ),
        (
            "vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: router, "
            "memory: [{used: 1.3.6.1.4.1.5.1}]}]",
            "'free' or 'total'",
        ),
        ("vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: router, extra: 1}]", "extra"),
        ("vendors: [", "cannot read"),
    ],
)
def test_a_bad_profiles_file_names_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SnmpConfigError, match=problem) as caught:
        load_profiles(path)
    assert str(path) in str(caught.value)


# Enterprise numbers (IANA) of the vendors common on Vietnamese commune networks.
VIETNAM_VENDORS = {
    "1.3.6.1.4.1.3902.3.100.20": ("zte", "switch"),
    "1.3.6.1.4.1.2011.2.23.291": ("huawei", "switch"),
    "1.3.6.1.4.1.2011.2.224.67": ("huawei", "router"),
    "1.3.6.1.4.1.25506.11.1.24": ("h3c", "switch"),
    "1.3.6.1.4.1.4881.1.1.10.1.150": ("ruijie", "switch"),
    "1.3.6.1.4.1.11863.1.1.25": ("tp_link", "switch"),
    "1.3.6.1.4.1.7367.1": ("draytek", "router"),
    "1.3.6.1.4.1.14988.1": ("mikrotik", "router"),
    "1.3.6.1.4.1.14988.2": ("mikrotik", "switch"),
    "1.3.6.1.4.1.9.1.2093": ("cisco", "router"),
    "1.3.6.1.4.1.12356.101.1.1041": ("fortinet", "firewall"),
    "1.3.6.1.4.1.12356.106.1.42404": ("fortinet", "switch"),
    "1.3.6.1.4.1.41112.1.5": ("ubiquiti", "router"),
    "1.3.6.1.4.1.11.2.3.9.1": ("hp", "printer"),
    "1.3.6.1.4.1.1602.4.3": ("canon", "printer"),
    "1.3.6.1.4.1.2435.2.3.9.1": ("brother", "printer"),
    "1.3.6.1.4.1.1248.1.1.3": ("epson", "printer"),
    "1.3.6.1.4.1.367.1.1": ("ricoh", "printer"),
    "1.3.6.1.4.1.1347.41": ("kyocera", "printer"),
    "1.3.6.1.4.1.297.1.11.93.2.1.2.3.5": ("fujifilm", "printer"),
    "1.3.6.1.4.1.236.11.5.1": ("samsung", "printer"),
    "1.3.6.1.4.1.2385.3.1.9": ("sharp", "printer"),
    "1.3.6.1.4.1.18334.1.1.1.2.1.117.2.2": ("konica_minolta", "printer"),
}


@pytest.mark.parametrize("object_id", sorted(VIETNAM_VENDORS))
def test_common_vendors_are_known_by_enterprise_number(object_id: str) -> None:
    found = load_profiles().classify(parse_oid(object_id), "")
    assert found.vendor is not None
    assert (found.vendor.vendor, found.kind) == VIETNAM_VENDORS[object_id]


def test_a_shared_enterprise_number_needs_the_sysdescr_too() -> None:
    profiles = load_profiles()
    broadcom = parse_oid("1.3.6.1.4.1.4413")
    edgeswitch = profiles.classify(broadcom, "EdgeSwitch 24-Port 250W, 1.8.0.5106045, Linux")
    assert edgeswitch.vendor is not None
    assert (edgeswitch.vendor.vendor, edgeswitch.kind) == ("ubiquiti", "switch")
    # Another FASTPATH switch is not a Ubiquiti: no profile, the MIB probe decides.
    assert profiles.classify(broadcom, "Broadcom FASTPATH Switching").vendor is None
    # net-snmp's number: a UniFi access point by its sysDescr, otherwise left to the probe.
    net_snmp = parse_oid("1.3.6.1.4.1.8072.3.2.10")
    ap = profiles.classify(net_snmp, "UAP-nanoHD 5.43.36.12724")
    assert ap.vendor is not None
    assert ap.kind == "access_point"
    linux = profiles.classify(net_snmp, "Linux gateway 5.10.0")
    assert linux.vendor is not None
    assert linux.vendor.vendor == "net_snmp"
    assert linux.kind is None


def test_vendor_text_sources_cut_and_name_models() -> None:
    profiles = load_profiles()
    switch = profiles.classify(parse_oid("1.3.6.1.4.1.12356.106.1.42404"), "").vendor
    assert switch is not None
    (source,) = switch.model
    assert source.extract("FortiSwitch-424E-Fiber v7.4.0,build0767,230602 (GA)") == (
        "FortiSwitch-424E-Fiber"
    )
    gate = profiles.classify(parse_oid("1.3.6.1.4.1.12356.101.1.644"), "").vendor
    assert gate is not None
    assert gate.model_name("FGT_60F") == "FortiGate 60F"
    assert gate.model_name("FWF_60D") == "FortiWiFi 60D"
    assert gate.model_name("FGT_VM64") == "FortiGate VM"
    huawei = profiles.classify(parse_oid("1.3.6.1.4.1.2011.2.23.95"), "").vendor
    assert huawei is not None
    assert huawei.model_in("S5328C-EI Huawei Versatile Routing Platform Software") == "S5328C-EI"
    assert huawei.model_in("Huawei AR169F Huawei Versatile Routing Platform") == "AR169F"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: router, "
            "model_from_descr: ['(?P<name>.*)']}]",
            "named group",
        ),
        (
            "vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: router, "
            "model: [{oid: 1.3.6.1.4.1.5.1.0, pattern: '('}]}]",
            "not a regex",
        ),
        (
            "vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: router, sys_descr: '['}]",
            "not a regex",
        ),
    ],
)
def test_bad_vendor_regexes_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SnmpConfigError, match=problem):
        load_profiles(path)
