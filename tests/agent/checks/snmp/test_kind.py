"""MIB-presence classification with correct end-of-view handling for SNMPv1, v2c and v3."""

from __future__ import annotations

import pytest

from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import SnmpErrorStatus
from agent.checks.snmp.kind import (
    DOT1D_BASE_NUM_PORTS,
    IP_FORWARDING,
    PRINTER_MIB,
    SWITCH_PORTS,
    probe_kind,
    proves_subtree,
)
from agent.checks.snmp.values import Missing, ObjectIdValue, Oid, Value, VarBind
from agent.checks.snmp.walk import WalkStats
from tests.agent.checks.snmp.fake_agent import FakeAgent, FakeDevice

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
PRT_GENERAL_CONFIG_CHANGES = (1, 3, 6, 1, 2, 1, 43, 5, 1, 1, 1, 1)
IF_MIB_IF_NAME_1 = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("answer", "proves"),
    [
        # v2c/v3 past the end of the view: endOfMibView with the *requested* name (RFC 3416).
        ((PRINTER_MIB, Missing.END_OF_MIB_VIEW), False),
        ((PRINTER_MIB, 0), False),  # the name not after the request
        (((1, 3, 6, 1, 2, 1, 43, 5), Missing.NO_SUCH_OBJECT), False),
        ((IF_MIB_IF_NAME_1, b"eth0"), False),  # the next object is in another MIB
        ((PRT_GENERAL_CONFIG_CHANGES, 3), True),
    ],
)
def test_only_a_value_inside_the_subtree_proves_it(
    answer: tuple[tuple[int, ...], object], proves: bool
) -> None:
    assert proves_subtree(PRINTER_MIB, answer) is proves  # type: ignore[arg-type]


def device(**mib: Value) -> FakeDevice:
    """An unprofiled device answering only the named objects."""
    values: dict[Oid, Value] = {
        SYS_DESCR: b"some device",
        (1, 3, 6, 1, 2, 1, 1, 2, 0): ObjectIdValue((1, 3, 6, 1, 4, 1, 99999)),
    }
    names: dict[str, Oid] = {
        "printer": PRT_GENERAL_CONFIG_CHANGES,
        "forwarding": IP_FORWARDING,
        "ports": DOT1D_BASE_NUM_PORTS,
        "ifname": IF_MIB_IF_NAME_1,
    }
    for name, value in mib.items():
        values[names[name]] = value
    return FakeDevice(values)


async def kind_of(fake: FakeDevice, version: str) -> str:
    agent = FakeAgent()
    agent.add("public", fake)
    target = SnmpTargetConfig(address="127.0.0.1", community="public", version=version)
    return await probe_kind(agent, target, WalkStats())


@pytest.mark.parametrize("version", ["1", "2c"])
@pytest.mark.parametrize(
    ("mib", "kind"),
    [
        ({"printer": 3, "forwarding": 2}, "printer"),
        # The view ends before the Printer-MIB (v1: noSuchName; v2c: endOfMibView).
        ({"ports": 8, "forwarding": 2}, "switch"),
        ({"ports": 4, "forwarding": 1}, "router"),  # a home router bridging its LAN ports
        ({"ports": SWITCH_PORTS + 12, "forwarding": 1}, "switch"),  # a layer-3 switch
        ({"forwarding": 1}, "router"),
        ({}, "other"),
        # An agent that has the IF-MIB after the Printer-MIB's place but no Printer-MIB.
        ({"ifname": b"eth0", "forwarding": 2}, "other"),
    ],
)
async def test_an_unprofiled_device_is_classified_by_its_mibs(
    mib: dict[str, Value], kind: str, version: str
) -> None:
    assert await kind_of(device(**mib), version) == kind


async def test_an_agent_that_errors_on_the_probe_is_other_not_a_failed_poll() -> None:
    def gen_err(varbinds: list[VarBind]) -> list[VarBind]:
        raise SnmpErrorStatus("127.0.0.1", "genErr", 1, None)

    fake = device(forwarding=2)
    fake.mangle = gen_err
    assert await kind_of(fake, "1") == "other"
