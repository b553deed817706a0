"""Properties over arbitrary device answers: the walker raises only our errors, the decoders
never raise at all (bad cells become counted problems)."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.entity import ENTITY_COLUMNS
from agent.checks.snmp.errors import SnmpError
from agent.checks.snmp.interfaces import INTERFACE_COLUMNS, InterfaceTracker
from agent.checks.snmp.poller import identify
from agent.checks.snmp.printer import (
    PRINTER_COLUMNS,
    PRINTER_FACT_COLUMNS,
    decode_printer,
    printer_facts,
)
from agent.checks.snmp.profiles import VendorProfile, load_profiles
from agent.checks.snmp.resources import decode_resources, resource_columns
from agent.checks.snmp.text import has_hex_dump
from agent.checks.snmp.values import Missing, ObjectIdValue, Oid, Value, VarBind
from agent.checks.snmp.walk import Column, WalkLimits, WalkStats, walk_columns
from tests.agent.checks.snmp.fake_agent import FakeAgent, FakeDevice

PROFILES = load_profiles()
values: st.SearchStrategy[Value] = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.binary(max_size=40),
    st.builds(ObjectIdValue, st.lists(st.integers(0, 2**32), min_size=2, max_size=12)),
    st.sampled_from(list(Missing)),
)
indices: st.SearchStrategy[Oid] = st.lists(st.integers(0, 70_000), min_size=0, max_size=3).map(
    tuple
)
columns_strategy = st.dictionaries(
    st.sampled_from(
        [
            *PRINTER_COLUMNS,
            *PRINTER_FACT_COLUMNS,
            *ENTITY_COLUMNS,
            *INTERFACE_COLUMNS,
            *resource_columns(None),
        ]
    ),
    st.dictionaries(indices, values, max_size=6),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(columns_strategy, st.booleans(), st.sampled_from([None, *PROFILES.vendors]))
def test_decoders_never_raise_on_any_cells(
    columns: dict[Oid, Column], rebooted: bool, vendor: VendorProfile | None
) -> None:
    emit = Emitter()
    tracker = InterfaceTracker()
    for now in (0.0, 60.0):
        tracker.decode(columns, emit, now=now, rebooted=rebooted)
    decode_resources(columns, {}, emit, vendor=None, defaults=PROFILES.defaults)
    decode_printer(columns, emit, vendor=vendor, defaults=PROFILES.defaults, low_percent=10)
    printer_facts(columns)
    for is_printer in (True, False):
        identify(vendor, is_printer, columns, {}, "any sysDescr")
    for sample in emit.samples:
        assert sample.value == sample.value  # not NaN
        if sample.name.endswith("_percent"):
            assert 0 <= sample.value <= 100
        if sample.name.startswith("printer_"):
            assert not any(has_hex_dump(value) for value in sample.labels.values())


ROOTS = [(1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)]
varbinds = st.lists(
    st.tuples(
        st.lists(st.integers(0, 100), min_size=1, max_size=12).map(lambda parts: (1, 3, *parts)),
        values,
    ),
    max_size=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(varbinds, min_size=1, max_size=5))
def test_the_walker_raises_only_snmp_errors_on_any_answers(answers: list[list[VarBind]]) -> None:
    queue = list(answers)

    def replay(_real: list[VarBind]) -> list[VarBind]:
        return queue.pop(0) if queue else []

    agent = FakeAgent()
    agent.add("public", FakeDevice({}, mangle=replay))
    target = SnmpTargetConfig(address="127.0.0.1", community="public")

    async def run() -> None:
        with contextlib.suppress(SnmpError):
            await walk_columns(agent, target, ROOTS, WalkLimits(max_rows=50), WalkStats())

    asyncio.run(run())
