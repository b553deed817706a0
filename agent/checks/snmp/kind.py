"""What an unprofiled device is, from the MIBs it implements (printer, router, switch, other).

A vendor missing from profiles.yaml is classified by asking for the first object of the
Printer-MIB (RFC 3805) with GETNEXT. The answer proves the MIB is there only if the returned
name is inside the Printer-MIB, strictly after the request, and carries a value. Past the end
of the agent's view the answer differs by version, and each must read as "absent":

- SNMPv2c/v3: the varbind comes back with the value ``endOfMibView`` and, as RFC 3416 §4.2.2
  says, *the requested name*: a prefix test alone would wrongly pass;
- SNMPv1: the whole PDU fails with error-status ``noSuchName`` (RFC 1157 §4.1.3).

Devices without the Printer-MIB are switches when BRIDGE-MIB (RFC 4188) reports many bridge
ports (layer-3 switches forward IP too), routers when IP-MIB ipForwarding is forwarding(1)
(RFC 4293), switches when they bridge at all, and 'other' otherwise.
"""

from __future__ import annotations

from agent.checks.snmp.client import SnmpClient
from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import SnmpErrorStatus
from agent.checks.snmp.profiles import ProfileKind
from agent.checks.snmp.values import Missing, Oid, VarBind, as_int
from agent.checks.snmp.walk import WalkStats, get_values

PRINTER_MIB = (1, 3, 6, 1, 2, 1, 43)
IP_FORWARDING = (1, 3, 6, 1, 2, 1, 4, 1, 0)  # IP-MIB ipForwarding.0: forwarding(1)
DOT1D_BASE_NUM_PORTS = (1, 3, 6, 1, 2, 1, 17, 1, 2, 0)  # BRIDGE-MIB dot1dBaseNumPorts.0
_FORWARDING = 1
# A home or branch router bridges its few LAN ports; a device bridging this many is a switch.
SWITCH_PORTS = 12


def proves_subtree(requested: Oid, answer: VarBind) -> bool:
    """True if a GETNEXT answer to ``requested`` is an object inside that subtree.

    endOfMibView (or any exception value) proves nothing, whatever name it carries; neither
    does a name outside the subtree or one that is not after the request.
    """
    name, value = answer
    return (
        not isinstance(value, Missing)
        and len(name) > len(requested)
        and name[: len(requested)] == requested
    )


async def has_subtree(
    client: SnmpClient, target: SnmpTargetConfig, root: Oid, stats: WalkStats
) -> bool:
    """True if the agent has at least one object under ``root`` in its view."""
    stats.requests += 1
    try:
        answer = await client.get_next(target, [root])
    except SnmpErrorStatus:
        # noSuchName is SNMPv1's end of MIB view (RFC 1157 §4.1.3); some v1 agents answer
        # genErr there instead. Either way the agent has no object to show us.
        return False
    stats.values += len(answer)
    return bool(answer) and proves_subtree(root, answer[0])


async def probe_kind(client: SnmpClient, target: SnmpTargetConfig, stats: WalkStats) -> ProfileKind:
    """Classify a device by the MIBs it answers for (see the module docstring)."""
    if await has_subtree(client, target, PRINTER_MIB, stats):
        return "printer"
    try:
        scalars = await get_values(client, target, [IP_FORWARDING, DOT1D_BASE_NUM_PORTS], stats)
    except SnmpErrorStatus:
        scalars = {}  # an agent that errors on these standard scalars: nothing to go by
    ports = as_int(scalars.get(DOT1D_BASE_NUM_PORTS)) or 0
    if ports >= SWITCH_PORTS:
        return "switch"
    if as_int(scalars.get(IP_FORWARDING)) == _FORWARDING:
        return "router"
    return "switch" if ports > 0 else "other"
