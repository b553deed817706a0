"""agent.checks.host.facts: the PC's facts as read from this machine's OS (no admin tools)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import psutil
import pytest

from agent.checks.host.facts import (
    FACT_MAX_CHARS,
    addresses,
    cpu_model,
    current_facts,
    machine_identity,
    static_facts,
)
from agent.checks.host.smbios import SERIAL_PLACEHOLDERS

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, /sys")


def test_static_facts_report_this_machines_cpu_and_memory() -> None:
    facts = static_facts()
    assert facts["cpu_cores_logical"] == str(psutil.cpu_count(logical=True) or 0)
    assert facts["cpu_cores_physical"] == str(psutil.cpu_count(logical=False) or 0)
    assert int(facts["ram_total_bytes"]) == psutil.virtual_memory().total > 0
    assert facts["cpu_model"] == cpu_model() != ""
    assert {"os", "os_name"} <= set(facts)
    assert all(isinstance(value, str) for value in facts.values())


def test_current_facts_add_the_host_name_and_bound_every_value() -> None:
    static = {"cpu_model": "x" * 2_000, "os": "Windows 10"}
    facts = current_facts(static, nic_exclude=())
    assert facts["hostname"] == socket.gethostname()[:FACT_MAX_CHARS]
    assert facts["cpu_model"] == "x" * FACT_MAX_CHARS
    assert facts["os"] == "Windows 10"
    assert static["cpu_model"] == "x" * 2_000  # the caller's dict is left alone


def test_excluding_every_interface_leaves_no_address_facts() -> None:
    facts = current_facts({"os": "Linux"}, nic_exclude=("*",))
    assert "mac_addresses" not in facts
    assert "ip_addresses" not in facts
    assert addresses(("*",)) == ([], [])


def test_addresses_are_sorted_normalised_and_never_loopback() -> None:
    macs, ips = addresses(())
    assert macs == sorted(macs)
    assert ips == sorted(ips)
    assert not [ip for ip in ips if ip.startswith("127.")]
    for mac in macs:
        assert mac == mac.lower()
        assert "-" not in mac
        assert mac.strip("0:")  # the all-zero MAC of a loopback is no address
    facts = current_facts({}, nic_exclude=())
    assert facts.get("mac_addresses", "") == ",".join(macs)
    assert facts.get("ip_addresses", "") == ",".join(ips)


def test_excluding_one_interface_removes_only_its_addresses() -> None:
    per_nic = psutil.net_if_addrs()
    with_ipv4 = [
        name
        for name, addrs in per_nic.items()
        if any(a.family == socket.AF_INET and not a.address.startswith("127.") for a in addrs)
    ]
    if not with_ipv4:
        pytest.skip("this machine has no non-loopback IPv4 interface")
    name = with_ipv4[0]
    own = {a.address for a in per_nic[name] if a.family == socket.AF_INET}
    others = {
        a.address
        for other, addrs in per_nic.items()
        if other != name
        for a in addrs
        if a.family == socket.AF_INET
    }
    _macs, ips = addresses((name.upper(),))  # patterns match in any case
    assert not (own - others) & set(ips)
    assert set(addresses(())[1]) - set(ips) == own - others


@linux_only
def test_the_cpu_model_is_the_first_named_line_of_proc_cpuinfo() -> None:
    names = [
        value.strip()
        for key, _, value in (
            line.partition(":") for line in Path("/proc/cpuinfo").read_text().splitlines()
        )
        if key.strip() in {"model name", "Hardware", "Model"} and value.strip()
    ]
    if not names:
        pytest.skip("/proc/cpuinfo names no model here")
    assert cpu_model() == names[0]


@linux_only
def test_machine_identity_reads_dmi_and_drops_placeholders() -> None:
    identity = machine_identity()
    assert set(identity) <= {"vendor", "model", "serial"}
    for value in identity.values():
        assert value == value.strip() != ""
        assert value.casefold() not in SERIAL_PLACEHOLDERS
    dmi = Path("/sys/class/dmi/id/sys_vendor")
    if dmi.exists():
        vendor = dmi.read_text(errors="replace").strip()
        if vendor.casefold() not in SERIAL_PLACEHOLDERS:
            assert identity["vendor"] == vendor
