"""Classification of devices we have no profile for, against snmpsim: an agent whose view ends
before the Printer-MIB is not a printer over SNMPv1, v2c or v3, and a printer still is."""

from __future__ import annotations

from typing import Any

import pytest

from agent.checks.snmp.check import SnmpCheck, SnmpCheckConfig
from agent.checks.snmp.client import PysnmpClient
from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import SnmpErrorStatus
from agent.checks.snmp.kind import PRINTER_MIB
from agent.checks.snmp.values import Missing
from tests.agent.checks.snmp.support import samples_named, value_of

VERSIONS = ["1", "2c", "3"]


def target_for(snmpsim: Any, recording: str, version: str) -> dict[str, Any]:
    """snmpsim target options for ``recording`` over SNMP ``version``; patient, because a v1
    walk is one GETNEXT per row and snmpsim shares two cores with the rest of the suite."""
    patience = {"timeout": 5.0, "retries": 2}
    options: dict[str, Any] = (
        snmpsim.v3_target(recording, **patience)
        if version == "3"
        else snmpsim.target(recording, version=version, **patience)
    )
    return options


async def test_v2c_end_of_view_names_the_requested_oid(snmpsim: Any) -> None:
    # The trap of issue 21: the answer past the view carries the very OID we asked for.
    client = PysnmpClient()
    try:
        target = SnmpTargetConfig(**snmpsim.target("switch_view_ends_early"))
        assert await client.get_next(target, [PRINTER_MIB]) == [
            (PRINTER_MIB, Missing.END_OF_MIB_VIEW)
        ]
        v1 = SnmpTargetConfig(**snmpsim.target("switch_view_ends_early", version="1"))
        with pytest.raises(SnmpErrorStatus) as caught:
            await client.get_next(v1, [PRINTER_MIB])
        assert caught.value.status == "noSuchName"
    finally:
        await client.aclose()


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_switch_whose_view_ends_early_is_not_a_printer(snmpsim: Any, version: str) -> None:
    config = SnmpCheckConfig(targets=[target_for(snmpsim, "switch_view_ends_early", version)])
    (report,) = await SnmpCheck(config).collect()
    assert value_of(report, "snmp_up") == 1
    assert "vendor" not in report.facts
    # BRIDGE-MIB reports 8 bridge ports and IP-MIB no forwarding: a switch.
    assert report.kind.value == "switch"
    assert not samples_named(report, "printer_supply_state")
    assert not samples_named(report, "printer_status")
    assert value_of(report, "if_oper_up", if_index="1") is not None


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_unknown_vendor_with_the_printer_mib_is_a_printer(
    snmpsim: Any, version: str
) -> None:
    config = SnmpCheckConfig(targets=[target_for(snmpsim, "printer_unknown_vendor", version)])
    (report,) = await SnmpCheck(config).collect()
    assert value_of(report, "snmp_up") == 1
    assert report.kind.value == "printer"
    assert "vendor" not in report.facts
    assert samples_named(report, "printer_supply_state")
