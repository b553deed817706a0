"""The multi-column walker over a fake agent: gaps, truncation, tooBig, loops, runaway tables."""

from __future__ import annotations

import pytest

from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import (
    SnmpErrorStatus,
    SnmpOidNotIncreasing,
    SnmpProtocolError,
    SnmpTableTooLarge,
    SnmpTimeout,
)
from agent.checks.snmp.values import Missing, Oid, Value, VarBind
from agent.checks.snmp.walk import WalkLimits, WalkStats, get_values, walk_columns
from tests.agent.checks.snmp.fake_agent import FakeAgent, FakeDevice

COLUMN_A = (1, 3, 6, 1, 9, 1, 1)
COLUMN_B = (1, 3, 6, 1, 9, 1, 2)
SCALAR = (1, 3, 6, 1, 9, 2, 0)


def table(rows: int, *, gaps_in_b: frozenset[int] = frozenset()) -> dict[Oid, Value]:
    mib: dict[Oid, Value] = {SCALAR: b"after the table"}
    for row in range(1, rows + 1):
        mib[(*COLUMN_A, row)] = row
        if row not in gaps_in_b:
            mib[(*COLUMN_B, row)] = f"row {row}".encode()
    return mib


def target(**options: object) -> SnmpTargetConfig:
    return SnmpTargetConfig(address="127.0.0.1", community="public", **options)


async def walk(
    device: FakeDevice, limits: WalkLimits, **options: object
) -> dict[Oid, dict[Oid, Value]]:
    agent = FakeAgent()
    agent.add("public", device)
    return await walk_columns(agent, target(**options), [COLUMN_A, COLUMN_B], limits, WalkStats())


async def test_walks_every_row_of_every_column() -> None:
    columns = await walk(FakeDevice(table(57)), WalkLimits(max_repetitions=10, max_varbinds=20))
    assert list(columns[COLUMN_A]) == [(row,) for row in range(1, 58)]
    assert columns[COLUMN_B][(57,)] == b"row 57"


async def test_a_column_with_gaps_keeps_its_own_cursor() -> None:
    columns = await walk(FakeDevice(table(30, gaps_in_b=frozenset({2, 3, 17}))), WalkLimits())
    assert len(columns[COLUMN_A]) == 30
    assert sorted(columns[COLUMN_B]) == [(r,) for r in range(1, 31) if r not in {2, 3, 17}]


async def test_answers_truncated_by_the_agent_still_complete_the_walk() -> None:
    # An agent limited to 3 varbinds per answer (message size) cuts rows in the middle.
    device = FakeDevice(table(40), max_varbinds=3)
    stats = WalkStats()
    agent = FakeAgent()
    agent.add("public", device)
    columns = await walk_columns(agent, target(), [COLUMN_A, COLUMN_B], WalkLimits(), stats)
    assert len(columns[COLUMN_A]) == len(columns[COLUMN_B]) == 40
    assert stats.requests == device.requests


async def test_getnext_walk_gives_the_same_table() -> None:
    bulk = await walk(FakeDevice(table(12)), WalkLimits())
    getnext = await walk(FakeDevice(table(12)), WalkLimits(bulk=False))
    assert bulk == getnext


async def test_snmpv1_end_of_mib_view_is_no_such_name() -> None:
    # The last column runs to the end of the MIB: SNMPv1 answers noSuchName (RFC 1157).
    mib = table(5)
    del mib[SCALAR]
    columns = await walk(FakeDevice(mib), WalkLimits(bulk=False), version="1")
    assert len(columns[COLUMN_B]) == 5


async def test_an_agent_going_backwards_is_stopped() -> None:
    def backwards(varbinds: list[VarBind]) -> list[VarBind]:
        return [((1, 3, 6, 1, 9, 1, 1, 1), value) for _oid, value in varbinds]

    with pytest.raises(SnmpOidNotIncreasing):
        await walk(FakeDevice(table(5), mangle=backwards), WalkLimits())


async def test_a_runaway_table_is_stopped_at_the_row_bound() -> None:
    with pytest.raises(SnmpTableTooLarge) as caught:
        await walk(FakeDevice(table(200)), WalkLimits(max_rows=100))
    assert caught.value.limit == 100


async def test_an_empty_answer_is_a_protocol_error() -> None:
    with pytest.raises(SnmpProtocolError, match="empty answer"):
        await walk(FakeDevice(table(5), mangle=lambda _v: []), WalkLimits())


async def test_too_big_halves_the_repetitions_until_it_fits() -> None:
    sizes: list[int] = []

    class Picky(FakeAgent):
        async def get_bulk(self, target, oids, max_repetitions):
            sizes.append(max_repetitions)
            if max_repetitions > 4:
                raise SnmpErrorStatus("127.0.0.1:161", "tooBig", 0, None)
            return await super().get_bulk(target, oids, max_repetitions)

    agent = Picky()
    agent.add("public", FakeDevice(table(20)))
    limits = WalkLimits(max_repetitions=25, max_varbinds=60)
    columns = await walk_columns(agent, target(), [COLUMN_A, COLUMN_B], limits, WalkStats())
    assert len(columns[COLUMN_A]) == 20
    assert sizes[:3] == [25, 12, 6]
    assert max(sizes[3:]) <= 4


async def test_a_device_that_stops_answering_mid_walk_times_out() -> None:
    with pytest.raises(SnmpTimeout):
        await walk(FakeDevice(table(100), answer_limit=2), WalkLimits(max_repetitions=5))


async def test_get_values_drops_missing_objects() -> None:
    agent = FakeAgent()
    agent.add("public", FakeDevice(table(1)))
    values = await get_values(agent, target(), [SCALAR, (1, 3, 6, 1, 9, 3, 0)], WalkStats())
    assert values == {SCALAR: b"after the table"}


async def test_get_values_over_snmpv1_retries_without_the_missing_object() -> None:
    agent = FakeAgent()
    agent.add("public", FakeDevice(table(1)))
    missing = (1, 3, 6, 1, 9, 3, 0)
    values = await get_values(agent, target(version="1"), [missing, SCALAR], WalkStats())
    assert values == {SCALAR: b"after the table"}
    assert Missing.NO_SUCH_OBJECT not in values.values()
