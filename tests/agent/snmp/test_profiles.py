"""Device profiles as data: the file loads, classifies every recording as its answer key says,
and bad files are refused with the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.snmp.errors import SnmpConfigError
from agent.snmp.profiles import load_profiles
from agent.snmp.values import parse_oid
from tests.services import SHARED

RECORDINGS = sorted((SHARED / "snmp").glob("*.expected.json"))


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
