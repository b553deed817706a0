"""Discovery: find the SNMP devices of a configured subnet by asking each host for its system
group; the poller then classifies them (sysObjectID/sysDescr → vendor, kind, model)."""

from __future__ import annotations

import asyncio

from agent.checks.snmp.client import SnmpClient
from agent.checks.snmp.config import SnmpDiscoveryConfig, SnmpTargetConfig
from agent.checks.snmp.errors import SnmpError
from agent.checks.snmp.walk import WalkStats, get_values

_SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
_SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


async def discover(
    client: SnmpClient,
    discovery: SnmpDiscoveryConfig,
    *,
    concurrency: int,
    exclude: set[str],
) -> list[SnmpTargetConfig]:
    """Targets for the hosts of ``discovery.network`` that answer SNMP, in address order.

    Hosts whose device id is in ``exclude`` (configured explicitly) are not probed. A host that
    does not answer is simply not a device; it is not an error.
    """
    limit = asyncio.Semaphore(concurrency)

    async def probe(address: str) -> SnmpTargetConfig | None:
        target = discovery.target(address)
        if target.effective_device_id in exclude:
            return None
        async with limit:
            try:
                values = await get_values(client, target, [_SYS_OBJECT_ID, _SYS_DESCR], WalkStats())
            except SnmpError:
                return None
        return target if values else None

    found = await asyncio.gather(*(probe(str(host)) for host in discovery.network.hosts()))
    return [target for target in found if target is not None]
