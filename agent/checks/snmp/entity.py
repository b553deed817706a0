"""ENTITY-MIB (RFC 6933) chassis reader: the product's own model name and serial number.

A device lists every physical part in ``entPhysicalTable``: chassis, stack, modules, fans,
power supplies, ports and transceivers. Taking the first non-empty ``entPhysicalModelName`` of
any row can return a fan's or an SFP's part code; the product is the chassis row
(``entPhysicalClass`` = chassis(3)). Stacks list several chassis inside a stack(11) row; the
lowest-indexed chassis is the one the stack is managed through.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.checks.snmp.values import Oid, as_int, as_text
from agent.checks.snmp.walk import Column

_ENT = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)  # entPhysicalEntry
ENT_PHYSICAL_DESCR = (*_ENT, 2)
ENT_PHYSICAL_CONTAINED_IN = (*_ENT, 4)
ENT_PHYSICAL_CLASS = (*_ENT, 5)
ENT_PHYSICAL_SERIAL = (*_ENT, 11)
ENT_PHYSICAL_MODEL = (*_ENT, 13)

ENTITY_COLUMNS: tuple[Oid, ...] = (
    ENT_PHYSICAL_CONTAINED_IN,
    ENT_PHYSICAL_CLASS,
    ENT_PHYSICAL_SERIAL,
    ENT_PHYSICAL_MODEL,
)
"""Columns walked when a device's facts (model, serial) are refreshed."""

# PhysicalClass (RFC 6933 ENTITY-MIB): chassis(3), stack(11).
CLASS_CHASSIS = 3
CLASS_STACK = 11
# Vendors fill empty cells with placeholders rather than leaving them empty.
_PLACEHOLDERS = frozenset({"", "n/a", "na", "none", "null", "unknown", "-", "0"})


@dataclass(frozen=True, slots=True)
class Chassis:
    """The chassis row of a device: its entPhysicalIndex, model name and serial number."""

    index: Oid
    model: str | None
    serial: str | None


def _text(column: Column, index: Oid) -> str | None:
    # Plain text, never undumped: a serial such as "F03E34F342C3" is all hex digits.
    text = as_text(column.get(index), 128)
    return None if text is None or text.lower() in _PLACEHOLDERS else text


def find_chassis(columns: dict[Oid, Column]) -> Chassis | None:
    """The device's chassis row, or None if the table names none with a model or serial.

    Chassis rows (class 3) come first, top-level ones before those inside a stack, then by
    index. Agents that do not send ``entPhysicalClass`` (some trim the table to a few columns)
    are read by containment: a row contained in nothing (``entPhysicalContainedIn`` = 0) is the
    device itself; with neither column, the lowest index (RFC 6933 agents number the overall
    container first).
    """
    classes = columns.get(ENT_PHYSICAL_CLASS, {})
    contained = columns.get(ENT_PHYSICAL_CONTAINED_IN, {})
    models = columns.get(ENT_PHYSICAL_MODEL, {})
    serials = columns.get(ENT_PHYSICAL_SERIAL, {})
    if classes:
        candidates = [i for i, v in classes.items() if as_int(v) == CLASS_CHASSIS]

        def order(index: Oid) -> tuple[int, Oid]:
            parent = as_int(contained.get(index))
            inside_stack = parent is not None and as_int(classes.get((parent,))) == CLASS_STACK
            return (0 if parent == 0 or inside_stack else 1, index)

        candidates.sort(key=order)
    elif contained:
        candidates = sorted(i for i, v in contained.items() if as_int(v) == 0)
    else:
        candidates = sorted(set(models) | set(serials))[:1]
    for index in candidates:
        model, serial = _text(models, index), _text(serials, index)
        if model or serial:
            return Chassis(index, model, serial)
    return None
