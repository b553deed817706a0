"""Plain-Python SNMP values: OIDs as int tuples, values as int/bytes, and the no-value markers.

The client converts pysnmp/pyasn1 objects into these once, at the boundary; decoders never see
pyasn1 types. Keeping values as builtins is what keeps the per-value cost of our code low.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TypeAlias

from agent.checks.snmp.text import decode_octets

Oid: TypeAlias = tuple[int, ...]

_NUMERIC_OID = re.compile(r"^\.?[0-2](\.(0|[1-9][0-9]*)){1,127}$")
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ObjectIdValue(tuple[int, ...]):
    """A value of type OBJECT IDENTIFIER (e.g. sysObjectID), distinct from a varbind's name."""

    __slots__ = ()

    def __str__(self) -> str:
        return format_oid(self)


class Missing(Enum):
    """SNMPv2 exception values (RFC 3416 §4.2.1): the varbind has no value."""

    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


# int covers INTEGER, Counter32/64, Gauge32, TimeTicks; bytes covers OCTET STRING, IpAddress,
# Opaque and BITS.
Value: TypeAlias = int | bytes | ObjectIdValue | Missing
VarBind: TypeAlias = tuple[Oid, Value]


def parse_oid(text: str) -> Oid:
    """``"1.3.6.1.2.1.1.1.0"`` (a leading dot is allowed) as a tuple of ints; ValueError if not."""
    if not _NUMERIC_OID.match(text):
        raise ValueError(f"{text!r} is not a numeric OID such as '1.3.6.1.2.1.1.1.0'")
    return tuple(int(part) for part in text.lstrip(".").split("."))


def format_oid(oid: Oid) -> str:
    """The dotted form of ``oid``, without a leading dot."""
    return ".".join(map(str, oid))


def index_text(suffix: Oid) -> str:
    """A table row index (the OID suffix after the column) as a label value: ``"1"``, ``"1.5"``."""
    return ".".join(map(str, suffix))


def as_int(value: Value | None) -> int | None:
    """``value`` if it is an integer, else None (missing, or a string where a number belongs)."""
    return value if type(value) is int else None


def as_text(value: Value | None, limit: int = 200) -> str | None:
    """An OCTET STRING shown as text: decoded, NULs and control characters dropped, whitespace
    collapsed, one pair of enclosing double quotes removed, at most ``limit`` characters.
    None if ``value`` is not a string. Hex digits stay as they are (see agent.checks.snmp.text for
    the names that need undumping)."""
    if type(value) is not bytes:
        return None
    # Printers pad DisplayStrings with NULs and some send Latin-1; never fail on device bytes.
    text = decode_octets(value)
    text = _WHITESPACE.sub(" ", _CONTROL.sub("", text)).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        # Agents configured from net-snmp's quoted output send the quotes along.
        text = text[1:-1].strip()
    return text[:limit]


def as_oid(value: Value | None) -> ObjectIdValue | None:
    """``value`` if it is an OBJECT IDENTIFIER, else None."""
    return value if isinstance(value, ObjectIdValue) else None
