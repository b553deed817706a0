"""Table walks over the :class:`~agent.checks.snmp.client.SnmpClient` seam: many columns a
request.

A walk asks for several columns at once (one varbind per column) and lets GETBULK return
``max_repetitions`` rows of each (RFC 3416 §4.2.3), so a 20-column, 48-row interface table takes
a handful of round trips. Each column keeps its own cursor: tables with gaps (a row missing in
one column) and responses truncated by the agent to fit its message size both work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.checks.snmp.client import SnmpClient
from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import (
    SnmpErrorStatus,
    SnmpOidNotIncreasing,
    SnmpProtocolError,
    SnmpTableTooLarge,
)
from agent.checks.snmp.values import Missing, Oid, Value, VarBind, format_oid

Column = dict[Oid, Value]
"""One walked column: row index (the OID suffix after the column OID) → value."""

_END = Missing.END_OF_MIB_VIEW


@dataclass(frozen=True, slots=True)
class WalkLimits:
    """How big the requests of a walk may be, and when to give up on a runaway table."""

    max_repetitions: int = 25
    max_varbinds: int = 60
    max_rows: int = 10_000
    bulk: bool = True


@dataclass(slots=True)
class WalkStats:
    """Counters of one poll's traffic: requests sent and values received."""

    requests: int = 0
    values: int = 0


async def get_values(
    client: SnmpClient,
    target: SnmpTargetConfig,
    oids: Sequence[Oid],
    stats: WalkStats,
) -> dict[Oid, Value]:
    """GET scalars; objects the agent lacks are absent from the result.

    SNMPv1 has no per-varbind exceptions: one missing object fails the whole PDU with
    noSuchName (RFC 1157 §4.1.2), so drop that varbind and ask again.
    """
    remaining = list(oids)
    while remaining:
        stats.requests += 1
        try:
            varbinds = await client.get(target, remaining)
        except SnmpErrorStatus as exc:
            if exc.status == "noSuchName" and 0 < exc.index <= len(remaining):
                del remaining[exc.index - 1]
                continue
            raise
        stats.values += len(varbinds)
        return {oid: value for oid, value in varbinds if not isinstance(value, Missing)}
    return {}


async def walk_columns(
    client: SnmpClient,
    target: SnmpTargetConfig,
    roots: Sequence[Oid],
    limits: WalkLimits,
    stats: WalkStats,
) -> dict[Oid, Column]:
    """Walk each column under ``roots`` to its end; returns root → {row index: value}."""
    where = f"{target.address}:{target.port}"
    columns: dict[Oid, Column] = {root: {} for root in roots}
    cursor: dict[Oid, Oid] = {root: root for root in columns}
    pending = list(columns)
    repetitions = limits.max_repetitions
    while pending:
        batch = pending[: limits.max_varbinds]
        width = len(batch)
        request = [cursor[root] for root in batch]
        stats.requests += 1
        try:
            if limits.bulk:
                reps = max(1, min(repetitions, limits.max_varbinds // width))
                varbinds = await client.get_bulk(target, request, reps)
            else:
                varbinds = await client.get_next(target, request)
        except SnmpErrorStatus as exc:
            if exc.status == "tooBig" and limits.bulk and repetitions > 1:
                # RFC 3416 says GETBULK answers are truncated, not refused; some agents refuse.
                repetitions = max(1, min(repetitions, limits.max_varbinds // width) // 2)
                continue
            if exc.status == "noSuchName" and not limits.bulk and 0 < exc.index <= width:
                # SNMPv1 end of MIB view for that varbind (RFC 1157 §4.1.3).
                pending.remove(batch[exc.index - 1])
                continue
            raise
        stats.values += len(varbinds)
        finished = _advance(where, batch, varbinds, columns, cursor, limits.max_rows)
        if finished is None:
            raise SnmpProtocolError(where, f"empty answer to a walk of {format_oid(batch[0])}")
        if finished:
            pending = [root for root in pending if root not in finished]
    return columns


def _advance(
    where: str,
    batch: list[Oid],
    varbinds: list[VarBind],
    columns: dict[Oid, Column],
    cursor: dict[Oid, Oid],
    max_rows: int,
) -> set[Oid] | None:
    """Store one response's values; returns the finished roots, or None if nothing moved."""
    width = len(batch)
    count = len(varbinds)
    finished: set[Oid] = set()
    moved = False
    for position, root in enumerate(batch):
        column = columns[root]
        last = cursor[root]
        size = len(root)
        for offset in range(position, count, width):
            oid, value = varbinds[offset]
            if value is _END or oid[:size] != root:
                finished.add(root)
                break
            if oid <= last:
                raise SnmpOidNotIncreasing(where, format_oid(last), format_oid(oid))
            column[oid[size:]] = value
            last = oid
            moved = True
        if len(column) > max_rows:
            raise SnmpTableTooLarge(where, format_oid(root), max_rows)
        cursor[root] = last
    return finished if moved or finished else None
