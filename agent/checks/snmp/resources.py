"""CPU and memory: HOST-RESOURCES-MIB (RFC 2790) hrProcessorLoad and hrStorage, or the vendor's
own objects when its profile names them (Cisco, Fortinet, Huawei, TP-Link, DrayTek, ...)."""

from __future__ import annotations

import re

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.profiles import CpuSource, MemorySource, ProfileDefaults, VendorProfile
from agent.checks.snmp.values import Oid, Value, as_int, as_oid, as_text, index_text
from agent.checks.snmp.walk import Column

HR_PROCESSOR_LOAD = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2)
_HR_STORAGE = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPE = (*_HR_STORAGE, 2)
HR_STORAGE_DESCR = (*_HR_STORAGE, 3)
HR_STORAGE_UNITS = (*_HR_STORAGE, 4)
HR_STORAGE_SIZE = (*_HR_STORAGE, 5)
HR_STORAGE_USED = (*_HR_STORAGE, 6)
HR_STORAGE_OTHER = (1, 3, 6, 1, 2, 1, 25, 2, 1, 1)
_HR_STORAGE_COLUMNS = (
    HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED,
)  # fmt: skip


def resource_columns(vendor: VendorProfile | None) -> list[Oid]:
    """Columns to walk for CPU and memory: the vendor's when its profile has them, else HR-MIB."""
    columns: list[Oid] = []
    if vendor and vendor.cpu:
        for cpu in vendor.cpu:
            if not cpu.scalar:
                columns.extend(c for c in (cpu.oid, cpu.name, cpu.only_where_nonzero) if c)
    else:
        columns.append(HR_PROCESSOR_LOAD)
    if vendor and vendor.memory:
        for memory in vendor.memory:
            if not memory.scalar:
                columns.extend(memory.oids)
                columns.extend(c for c in (memory.name, memory.only_where_nonzero) if c)
    else:
        columns.extend(_HR_STORAGE_COLUMNS)
    return list(dict.fromkeys(columns))


def resource_scalars(vendor: VendorProfile | None) -> list[Oid]:
    """Scalar OIDs to GET for the vendor's CPU and memory."""
    if vendor is None:
        return []
    oids = [cpu.oid for cpu in vendor.cpu if cpu.scalar]
    for memory in vendor.memory:
        if memory.scalar:
            oids.extend(memory.oids)
    return oids


def decode_resources(
    columns: dict[Oid, Column],
    scalars: dict[Oid, Value],
    emit: Emitter,
    *,
    vendor: VendorProfile | None,
    defaults: ProfileDefaults,
) -> None:
    """Emit ``cpu_percent`` and ``memory_*`` samples."""
    if vendor and vendor.cpu:
        for cpu in vendor.cpu:
            _vendor_cpu(cpu, columns, scalars, emit)
    else:
        for index, value in sorted(columns.get(HR_PROCESSOR_LOAD, {}).items()):
            _percent(
                emit, "cpu_percent", {"cpu": index_text(index)}, value, HR_PROCESSOR_LOAD, index
            )
    if vendor and vendor.memory:
        for memory in vendor.memory:
            _vendor_memory(memory, columns, scalars, emit)
    else:
        _hr_storage(columns, emit, defaults)


def _percent(
    emit: Emitter, name: str, labels: dict[str, str], value: Value | None, oid: Oid, index: Oid,
    scale: float = 1.0, text_pattern: str | None = None,
) -> None:  # fmt: skip
    number: float | None = as_int(value)
    if number is None and text_pattern is not None and isinstance(value, bytes):
        # VxWorks-based switches (EdgeSwitch, Broadcom FASTPATH) send the load as text:
        # "    5 Secs ( 31.1134%)   60 Secs ( 16.7571%)  300 Secs ( 14.3501%)".
        found = re.search(text_pattern, as_text(value) or "")
        try:
            number = float(found.group("value")) if found else None
        except ValueError:
            number = None
    if number is None or not 0 <= number * scale <= 100:
        emit.invalid(oid, index, "a percentage 0..100", value)
        return
    emit.sample(name, number * scale, labels)


def _rows(
    columns: dict[Oid, Column], value_column: Oid, only_where_nonzero: Oid | None
) -> list[Oid]:
    rows = sorted(columns.get(value_column, {}))
    if only_where_nonzero is None:
        return rows
    guard = columns.get(only_where_nonzero, {})
    return [row for row in rows if as_int(guard.get(row))]


def _row_label(columns: dict[Oid, Column], name: Oid | None, index: Oid) -> str:
    if name is not None:
        text = as_text(columns.get(name, {}).get(index))
        if text:
            return text
    return index_text(index)


def _vendor_cpu(
    cpu: CpuSource, columns: dict[Oid, Column], scalars: dict[Oid, Value], emit: Emitter
) -> None:
    if cpu.scalar:
        if cpu.oid in scalars:
            _percent(emit, "cpu_percent", {"cpu": cpu.label or "total"}, scalars[cpu.oid],
                     cpu.oid, (), cpu.scale, cpu.text_pattern)  # fmt: skip
        return
    column = columns.get(cpu.oid, {})
    for index in _rows(columns, cpu.oid, cpu.only_where_nonzero):
        label = _row_label(columns, cpu.name, index)
        _percent(emit, "cpu_percent", {"cpu": label}, column[index], cpu.oid, index, cpu.scale,
                 cpu.text_pattern)  # fmt: skip


def _vendor_memory(
    memory: MemorySource, columns: dict[Oid, Column], scalars: dict[Oid, Value], emit: Emitter
) -> None:
    rows: list[tuple[Oid, str, dict[Oid, Value | None]]]
    if memory.scalar:
        rows = [((), memory.label or "system", {oid: scalars.get(oid) for oid in memory.oids})]
    else:
        rows = [
            (
                index,
                _row_label(columns, memory.name, index),
                {oid: columns.get(oid, {}).get(index) for oid in memory.oids},
            )
            for index in _rows(columns, memory.oids[0], memory.only_where_nonzero)
        ]
    for index, pool, cells in rows:
        if all(value is None for value in cells.values()):
            continue  # this model lacks the object: nothing to report, nothing invalid
        labels = {"pool": pool}
        if memory.percent is not None:
            if cells[memory.percent] is not None:
                _percent(
                    emit,
                    "memory_used_percent",
                    labels,
                    cells[memory.percent],
                    memory.percent,
                    index,
                )
            continue
        used = as_int(cells[memory.used]) if memory.used is not None else None
        free = as_int(cells[memory.free]) if memory.free is not None else None
        total = as_int(cells[memory.total]) if memory.total is not None else None
        if used is None and free is not None and total is not None and 0 <= free <= total:
            used = total - free  # sources that give only free and total (EdgeSwitch, UniFi)
        first = memory.used or memory.free or memory.total
        assert first is not None
        if used is None or used < 0:
            emit.invalid(first, index, "bytes ≥ 0", cells[first])
            continue
        if total is None and free is not None and free >= 0:
            total = used + free
        if total is None or total <= 0:
            emit.invalid(memory.total or first, index, "a size > 0", total)
            continue
        _memory_samples(emit, labels, used * memory.unit_bytes, total * memory.unit_bytes)


def _memory_samples(emit: Emitter, labels: dict[str, str], used: int, total: int) -> None:
    emit.sample("memory_used_bytes", used, labels)
    emit.sample("memory_total_bytes", total, labels)
    emit.sample("memory_used_percent", round(min(100.0, used * 100.0 / total), 3), labels)


def _hr_storage(columns: dict[Oid, Column], emit: Emitter, defaults: ProfileDefaults) -> None:
    types = columns.get(HR_STORAGE_TYPE, {})
    descriptions = columns.get(HR_STORAGE_DESCR, {})
    units = columns.get(HR_STORAGE_UNITS, {})
    sizes = columns.get(HR_STORAGE_SIZE, {})
    used_column = columns.get(HR_STORAGE_USED, {})
    memory_types = set(defaults.memory_storage_types)
    other_memory = re.compile(defaults.memory_other_description)
    pools: dict[str, tuple[int, int]] = {}  # description -> (used bytes, size bytes)
    for index in sorted(types):
        storage_type = as_oid(types[index])
        description = as_text(descriptions.get(index)) or f"storage {index_text(index)}"
        if storage_type is None:
            emit.invalid(HR_STORAGE_TYPE, index, "an OBJECT IDENTIFIER", types[index])
            continue
        if storage_type not in memory_types and not (
            storage_type == HR_STORAGE_OTHER and other_memory.search(description)
        ):
            continue
        unit = as_int(units.get(index))
        size = as_int(sizes.get(index))
        used = as_int(used_column.get(index))
        if size == 0:  # an unused pool (no swap configured)
            continue
        # hrStorageSize/Used are Integer32 (RFC 2790): large disks make agents send negatives.
        if unit is None or unit <= 0 or size is None or size < 0 or used is None or used < 0:
            emit.invalid(HR_STORAGE_SIZE, index, "units > 0, size and used ≥ 0", size)
            continue
        pools.setdefault(description, (used * unit, size * unit))
    quirk = defaults.net_snmp_memory
    if quirk is not None and quirk.physical in pools:
        physical_used, physical_size = pools[quirk.physical]
        cached = sum(pools[name][0] for name in quirk.subtract if name in pools)
        pools[quirk.physical] = (max(0, physical_used - cached), physical_size)
        for name in quirk.relative_to_physical:
            if name in pools:
                pools[name] = (pools[name][0], physical_size)
    for description, (used_bytes, size_bytes) in pools.items():
        _memory_samples(emit, {"pool": description}, used_bytes, size_bytes)
