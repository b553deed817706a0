"""agent.checks.snmp.resources: CPU and memory from HOST-RESOURCES-MIB or a vendor's objects."""

from __future__ import annotations

from typing import Any

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.profiles import VendorProfile, load_profiles
from agent.checks.snmp.resources import (
    HR_PROCESSOR_LOAD,
    HR_STORAGE_DESCR,
    HR_STORAGE_OTHER,
    HR_STORAGE_SIZE,
    HR_STORAGE_TYPE,
    HR_STORAGE_UNITS,
    HR_STORAGE_USED,
    decode_resources,
    resource_columns,
    resource_scalars,
)
from agent.checks.snmp.values import ObjectIdValue, Oid, Value, parse_oid
from agent.checks.snmp.walk import Column

DEFAULTS = load_profiles().defaults
HR_STORAGE_RAM = ObjectIdValue((1, 3, 6, 1, 2, 1, 25, 2, 1, 2))
HR_STORAGE_FIXED_DISK = ObjectIdValue((1, 3, 6, 1, 2, 1, 25, 2, 1, 4))
CPU_COLUMN = "1.3.6.1.4.1.99999.1.1"
CPU_NAME = "1.3.6.1.4.1.99999.1.2"
CPU_SCALAR = "1.3.6.1.4.1.99999.2.0"
MEM_USED = "1.3.6.1.4.1.99999.3.1"
MEM_FREE = "1.3.6.1.4.1.99999.3.2"
MEM_TOTAL = "1.3.6.1.4.1.99999.3.3"
MEM_PERCENT = "1.3.6.1.4.1.99999.4.0"


def acme(**fields: Any) -> VendorProfile:
    return VendorProfile(vendor="acme", enterprise="1.3.6.1.4.1.99999", kind="router", **fields)


def decode(
    columns: dict[Oid, Column],
    scalars: dict[Oid, Value] | None = None,
    vendor: VendorProfile | None = None,
) -> Emitter:
    emit = Emitter()
    decode_resources(columns, scalars or {}, emit, vendor=vendor, defaults=DEFAULTS)
    return emit


def samples(emit: Emitter) -> list[tuple[str, float, dict[str, str]]]:
    return [(s.name, s.value, dict(s.labels)) for s in emit.samples]


def test_without_a_vendor_profile_the_host_resources_mib_is_walked() -> None:
    columns = resource_columns(None)
    assert columns[0] == HR_PROCESSOR_LOAD
    assert HR_STORAGE_USED in columns
    assert len(columns) == len(set(columns)) == 6
    assert resource_scalars(None) == []


def test_a_vendor_profile_replaces_what_it_names_and_scalars_are_fetched() -> None:
    vendor = acme(
        cpu=[{"oid": CPU_COLUMN, "name": CPU_NAME}, {"oid": CPU_SCALAR, "scalar": True,
                                                       "label": "total"}],
    )  # fmt: skip
    columns = resource_columns(vendor)
    assert columns[:2] == [parse_oid(CPU_COLUMN), parse_oid(CPU_NAME)]
    assert HR_PROCESSOR_LOAD not in columns
    assert HR_STORAGE_USED in columns  # no memory source: HR-MIB storage still
    assert resource_scalars(vendor) == [parse_oid(CPU_SCALAR)]


def test_processor_loads_become_cpu_percent_and_bad_ones_are_problems() -> None:
    emit = decode({HR_PROCESSOR_LOAD: {(196_608,): 12, (196_609,): 101, (196_610,): b"x"}})
    assert samples(emit) == [("cpu_percent", 12, {"cpu": "196608"})]
    assert len(emit.problems) == 2
    assert "should be a percentage 0..100" in emit.problems[0]


def test_a_load_sent_as_text_is_read_with_the_profiles_pattern() -> None:
    vendor = acme(
        cpu=[
            {
                "oid": CPU_SCALAR,
                "scalar": True,
                "label": "total",
                "text_pattern": r"60 Secs \(\s*(?P<value>[0-9.]+)%\)",
            }
        ]
    )
    text = b"    5 Secs ( 31.1134%)   60 Secs ( 16.7571%)  300 Secs ( 14.3501%)"
    emit = decode({}, {parse_oid(CPU_SCALAR): text}, vendor)
    assert samples(emit) == [("cpu_percent", 16.7571, {"cpu": "total"})]
    garbled = decode({}, {parse_oid(CPU_SCALAR): b"busy"}, vendor)
    assert not garbled.samples
    assert len(garbled.problems) == 1


def test_vendor_cpu_rows_are_named_filtered_and_scaled() -> None:
    guard = "1.3.6.1.4.1.99999.1.3"
    vendor = acme(
        cpu=[{"oid": CPU_COLUMN, "name": CPU_NAME, "only_where_nonzero": guard, "scale": 0.01}]
    )
    columns: dict[Oid, Column] = {
        parse_oid(CPU_COLUMN): {(1,): 2_500, (2,): 9_000, (3,): 4_000},
        parse_oid(CPU_NAME): {(1,): b"Supervisor", (3,): b""},
        parse_oid(guard): {(1,): 1, (2,): 0, (3,): 5},
    }
    emit = decode(columns, vendor=vendor)
    assert samples(emit) == [
        ("cpu_percent", 25.0, {"cpu": "Supervisor"}),
        ("cpu_percent", 40.0, {"cpu": "3"}),  # no name: the index
    ]


def test_vendor_memory_from_free_and_total_and_in_units() -> None:
    vendor = acme(
        memory=[{"free": MEM_FREE, "total": MEM_TOTAL, "unit_bytes": 1024, "name": CPU_NAME}]
    )
    columns: dict[Oid, Column] = {
        parse_oid(MEM_FREE): {(1,): 256, (2,): 10},
        parse_oid(MEM_TOTAL): {(1,): 1024, (2,): 0},
        parse_oid(CPU_NAME): {(1,): b"DRAM"},
    }
    emit = decode(columns, vendor=vendor)
    assert samples(emit) == [
        ("memory_used_bytes", 768 * 1024, {"pool": "DRAM"}),
        ("memory_total_bytes", 1024 * 1024, {"pool": "DRAM"}),
        ("memory_used_percent", 75.0, {"pool": "DRAM"}),
    ]
    # Row 2: free beyond total gives no 'used'; it is a problem, not a sample.
    assert len(emit.problems) == 1
    assert emit.problems[0].startswith("1.3.6.1.4.1.99999.3.2.2 should be bytes")


def test_vendor_memory_used_and_free_makes_the_total() -> None:
    vendor = acme(memory=[{"used": MEM_USED, "free": MEM_FREE, "scalar": True, "label": "sys"}])
    scalars: dict[Oid, Value] = {parse_oid(MEM_USED): 300, parse_oid(MEM_FREE): 100}
    emit = decode({}, scalars, vendor)
    assert samples(emit)[1] == ("memory_total_bytes", 400, {"pool": "sys"})
    assert samples(emit)[2] == ("memory_used_percent", 75.0, {"pool": "sys"})


def test_a_model_without_the_vendor_memory_object_reports_nothing_and_no_problem() -> None:
    vendor = acme(memory=[{"percent": MEM_PERCENT, "scalar": True, "label": "sys"}])
    emit = decode({}, {}, vendor)
    assert not emit.samples
    assert not emit.problems
    emit = decode({}, {parse_oid(MEM_PERCENT): 42}, vendor)
    assert samples(emit) == [("memory_used_percent", 42, {"pool": "sys"})]


def storage(*rows: tuple[int, ObjectIdValue, bytes, Value, Value, Value]) -> dict[Oid, Column]:
    columns: dict[Oid, Column] = {
        oid: {}
        for oid in (HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE,
                    HR_STORAGE_USED)
    }  # fmt: skip
    for index, kind, descr, units, size, used in rows:
        columns[HR_STORAGE_TYPE][(index,)] = kind
        columns[HR_STORAGE_DESCR][(index,)] = descr
        columns[HR_STORAGE_UNITS][(index,)] = units
        columns[HR_STORAGE_SIZE][(index,)] = size
        columns[HR_STORAGE_USED][(index,)] = used
    return columns


def test_hr_storage_reports_ram_pools_and_skips_disks_and_unused_swap() -> None:
    emit = decode(
        storage(
            (1, HR_STORAGE_RAM, b"RAM", 1024, 1000, 250),
            (2, HR_STORAGE_FIXED_DISK, b"/", 4096, 10_000, 5_000),
            (3, ObjectIdValue((1, 3, 6, 1, 2, 1, 25, 2, 1, 3)), b"Swap", 1024, 0, 0),
            (4, ObjectIdValue(HR_STORAGE_OTHER), b"Flash Memory", 1, 100, 50),
            (5, ObjectIdValue(HR_STORAGE_OTHER), b"NVRAM log", 1, 100, 50),
        )
    )
    assert samples(emit) == [
        ("memory_used_bytes", 256_000, {"pool": "RAM"}),
        ("memory_total_bytes", 1_024_000, {"pool": "RAM"}),
        ("memory_used_percent", 25.0, {"pool": "RAM"}),
        ("memory_used_bytes", 50, {"pool": "Flash Memory"}),
        ("memory_total_bytes", 100, {"pool": "Flash Memory"}),
        ("memory_used_percent", 50.0, {"pool": "Flash Memory"}),
    ]
    assert not emit.problems


def test_hr_storage_negative_sizes_and_bad_types_are_problems() -> None:
    emit = decode(
        storage(
            (1, HR_STORAGE_RAM, b"RAM", 1024, -5, 1),  # Integer32 overflow on big disks
            (2, HR_STORAGE_RAM, b"RAM2", 0, 10, 1),
        )
    )
    emit_bad_type = decode({HR_STORAGE_TYPE: {(9,): b"ram"}})
    assert not emit.samples
    assert len(emit.problems) == 2
    assert len(emit_bad_type.problems) == 1
    assert "should be an OBJECT IDENTIFIER" in emit_bad_type.problems[0]


def test_net_snmp_buffers_and_cache_are_not_counted_as_used_ram() -> None:
    emit = decode(
        storage(
            (1, HR_STORAGE_RAM, b"Physical memory", 1024, 1000, 900),
            (2, ObjectIdValue(HR_STORAGE_OTHER), b"Memory buffers", 1024, 100, 100),
            (3, ObjectIdValue(HR_STORAGE_OTHER), b"Cached memory", 1024, 400, 400),
        )
    )
    by_pool = {(s.name, s.labels["pool"]): s.value for s in emit.samples}
    assert by_pool[("memory_used_bytes", "Physical memory")] == 400 * 1024
    assert by_pool[("memory_total_bytes", "Physical memory")] == 1000 * 1024
    # Buffers and cache are shown as a share of physical memory, not of themselves.
    assert by_pool[("memory_total_bytes", "Cached memory")] == 1000 * 1024
    assert by_pool[("memory_used_percent", "Cached memory")] == 40.0
