"""The ``snmp`` check: polls printers, MFPs, routers and switches from the site agent.

One :class:`SnmpCheck` holds a :class:`~agent.checks.snmp.poller.DevicePoller` per target
(their state carries rates and reboot detection across polls). Each ``collect`` opens one SNMP
client, polls every target concurrently under a bound, and returns one report per target; a
target that fails reports ``snmp_up`` = 0 and an event, and never delays or hides the others.

Sample options (the ``options`` of a ``check: snmp`` entry in the central config)::

    max_concurrency: 16          # targets polled at once
    low_supply_percent: 10       # a supply at or under this is 'low' (printer_supply_low event)
    targets:
      - address: 192.168.1.20    # IP address or host name
        community: public        # SNMP v1/v2c; default version "2c", port 161
        kind: printer            # or auto (default: profiles.yaml, else the MIBs it has), mfp...
        device_id: mfp-mot-cua   # default: the address
      - address: 192.168.1.1
        version: "3"             # authPriv only: HMAC-SHA family and AES
        v3: {user: monitor, auth_key: "...", priv_key: "...", auth_protocol: SHA256}
        timeout: 2               # seconds per try; retries: 1
    discovery:                   # optional: poll whatever answers in this range
      network: 192.168.1.0/24
      community: public
      rescan_seconds: 3600

Samples and events are listed, with English and Vietnamese help, in
``agent/checks/snmp/metrics.yaml``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from agent.checks.base import CheckConfig
from agent.checks.snmp.client import ClientFactory, PysnmpClient, SnmpClient
from agent.checks.snmp.config import SnmpCheckConfig, SnmpTargetConfig
from agent.checks.snmp.discovery import discover
from agent.checks.snmp.poller import DevicePoller, PollOptions
from agent.checks.snmp.profiles import ProfileSet, load_profiles
from agent.clock import Clock, SystemClock
from agent.wire import DeviceReport

__all__ = ["SnmpCheck", "SnmpCheckConfig", "SnmpTargetConfig"]

log = logging.getLogger(__name__)


class SnmpCheck:
    """Polls SNMP devices; see the module docstring."""

    name: ClassVar[str] = "snmp"
    config_model: ClassVar[type[CheckConfig]] = SnmpCheckConfig

    def __init__(
        self,
        config: SnmpCheckConfig,
        *,
        clock: Clock | None = None,
        client_factory: ClientFactory = PysnmpClient,
        profiles: ProfileSet | None = None,
    ) -> None:
        self._config = config
        self._clock: Clock = clock or SystemClock()
        self._client_factory = client_factory
        self._profiles = profiles or load_profiles()
        self._options = PollOptions(
            low_supply_percent=config.low_supply_percent,
            facts_refresh_seconds=config.facts_refresh_seconds,
            max_rows_per_column=config.max_rows_per_column,
            max_poll_seconds=config.max_poll_seconds,
        )
        self._pollers = {
            target.effective_device_id: self._poller(target) for target in config.targets
        }
        self._discovered: dict[str, DevicePoller] = {}
        self._discovered_at: float | None = None

    async def collect(self) -> list[DeviceReport]:
        """Poll every target once (and rescan the discovery range when due)."""
        client = self._client_factory()
        try:
            await self._rediscover_if_due(client)
            pollers = [*self._pollers.values(), *self._discovered.values()]
            limit = asyncio.Semaphore(self._config.max_concurrency)

            async def poll(poller: DevicePoller) -> DeviceReport:
                async with limit:
                    return await poller.poll(client)

            return list(await asyncio.gather(*(poll(poller) for poller in pollers)))
        finally:
            await client.aclose()

    def _poller(self, target: SnmpTargetConfig) -> DevicePoller:
        return DevicePoller(
            target, profiles=self._profiles, options=self._options, clock=self._clock
        )

    async def _rediscover_if_due(self, client: SnmpClient) -> None:
        discovery = self._config.discovery
        if discovery is None:
            return
        now = self._clock.monotonic()
        if self._discovered_at is not None and now - self._discovered_at < discovery.rescan_seconds:
            return
        found = await discover(
            client,
            discovery,
            concurrency=self._config.max_concurrency,
            exclude=set(self._pollers),
        )
        previous = self._discovered
        self._discovered = {
            target.effective_device_id: previous.get(target.effective_device_id)
            or self._poller(target)
            for target in found
        }
        self._discovered_at = now
        log.info(
            "snmp discovery done",
            extra={"network": str(discovery.network), "devices": len(self._discovered)},
        )
