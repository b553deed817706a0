"""agent.checks.snmp.discovery: which hosts of a subnet answer SNMP, over the in-memory agent
(no packets are sent; the addresses only key the fake devices)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.checks.snmp.config import SnmpDiscoveryConfig, SnmpTargetConfig
from agent.checks.snmp.discovery import discover
from agent.checks.snmp.errors import SnmpAuthError
from agent.checks.snmp.values import ObjectIdValue, Oid, Value, VarBind
from tests.agent.checks.snmp.fake_agent import FakeAgent, FakeDevice

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


def device() -> FakeDevice:
    mib: dict[Oid, Value] = {
        SYS_DESCR: b"RouterOS RB750Gr3",
        SYS_OBJECT_ID: ObjectIdValue((1, 3, 6, 1, 4, 1, 14988, 1)),
    }
    return FakeDevice(mib)


def scan(network: str = "127.0.0.0/29", community: str = "public") -> SnmpDiscoveryConfig:
    return SnmpDiscoveryConfig(network=network, community=community)


async def test_only_hosts_that_answer_are_found_in_address_order() -> None:
    agent = FakeAgent()
    agent.add("public", device(), address="127.0.0.5")
    agent.add("public", device(), address="127.0.0.1")
    agent.add("other", device(), address="127.0.0.2")  # another community: silent to us
    found = await discover(agent, scan(), concurrency=4, exclude=set())
    assert [t.address for t in found] == ["127.0.0.1", "127.0.0.5"]
    assert all(isinstance(t, SnmpTargetConfig) for t in found)
    assert [t.effective_device_id for t in found] == ["127.0.0.1", "127.0.0.5"]


async def test_discovered_targets_carry_the_ranges_credentials() -> None:
    agent = FakeAgent()
    agent.add("s3cret", device(), address="127.0.0.1", port=1161)
    config = SnmpDiscoveryConfig(
        network="127.0.0.0/30", community="s3cret", port=1161, timeout=0.5, retries=2
    )
    (target,) = await discover(agent, config, concurrency=2, exclude=set())
    assert target.community.get_secret_value() == "s3cret"
    assert (target.port, target.timeout, target.retries) == (1161, 0.5, 2)
    assert target.effective_device_id == "127.0.0.1:1161"


async def test_excluded_hosts_are_not_even_asked() -> None:
    agent = FakeAgent()
    first = agent.add("public", device(), address="127.0.0.1")
    second = agent.add("public", device(), address="127.0.0.2")
    found = await discover(agent, scan("127.0.0.0/30"), concurrency=2, exclude={"127.0.0.1"})
    assert [t.address for t in found] == ["127.0.0.2"]
    assert first.requests == 0
    assert second.requests == 1


async def test_a_host_without_the_system_group_is_not_a_device() -> None:
    agent = FakeAgent()
    agent.add("public", FakeDevice({(1, 3, 6, 1, 2, 1, 2, 1, 0): 4}), address="127.0.0.1")
    assert await discover(agent, scan("127.0.0.0/30"), concurrency=1, exclude=set()) == []


class CountingAgent(FakeAgent):
    """A FakeAgent whose GETs wait a turn, to count how many run at once; one host refuses."""

    async def get(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if target.address == "127.0.0.3":
                raise SnmpAuthError(target.address, "bad credentials")
            return await super().get(target, oids)
        finally:
            self.in_flight -= 1


async def test_probes_are_bounded_and_an_snmp_error_just_means_no_device() -> None:
    agent = CountingAgent()
    for host in range(1, 7):
        agent.add("public", device(), address=f"127.0.0.{host}")
    found = await discover(agent, scan(), concurrency=2, exclude=set())
    assert agent.max_in_flight == 2
    assert [t.address for t in found] == [f"127.0.0.{h}" for h in (1, 2, 4, 5, 6)]
