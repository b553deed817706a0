"""agent.checks.snmp.values: OID parsing and formatting, and the typed views of a varbind value."""

from __future__ import annotations

import pytest

from agent.checks.snmp.values import (
    Missing,
    ObjectIdValue,
    Value,
    as_int,
    as_oid,
    as_text,
    format_oid,
    index_text,
    parse_oid,
)


@pytest.mark.parametrize(
    ("text", "oid"),
    [
        ("1.3.6.1.2.1.1.1.0", (1, 3, 6, 1, 2, 1, 1, 1, 0)),
        (".1.3.6.1.4.1.9", (1, 3, 6, 1, 4, 1, 9)),
        ("2.25", (2, 25)),
        ("0.0", (0, 0)),
    ],
)
def test_numeric_oids_parse_to_int_tuples(text: str, oid: tuple[int, ...]) -> None:
    assert parse_oid(text) == oid


@pytest.mark.parametrize(
    "text",
    ["", "1", "3.6.1", "1.3.06.1", "1..3", "1.3.", "sysDescr.0", "1.3.6.x", " 1.3.6", "1.-3"],
)
def test_anything_but_a_numeric_oid_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="is not a numeric OID such as"):
        parse_oid(text)


def test_an_oid_of_128_arcs_is_accepted_and_129_refused() -> None:
    assert len(parse_oid(".".join(["1"] * 128))) == 128
    with pytest.raises(ValueError, match="is not a numeric OID"):
        parse_oid(".".join(["1"] * 129))


def test_format_and_parse_round_trip_without_a_leading_dot() -> None:
    oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 4_294_967_295)
    assert format_oid(oid) == "1.3.6.1.2.1.2.2.1.10.4294967295"
    assert parse_oid(format_oid(oid)) == oid
    assert index_text((1, 5)) == "1.5"
    assert index_text(()) == ""


def test_an_object_identifier_value_prints_dotted_and_stays_a_tuple() -> None:
    value = ObjectIdValue((1, 3, 6, 1, 4, 1, 9, 1, 516))
    assert str(value) == "1.3.6.1.4.1.9.1.516"
    assert value == (1, 3, 6, 1, 4, 1, 9, 1, 516)
    assert as_oid(value) is value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, 42),
        (-3, -3),
        (0, 0),
        (True, None),  # a bool is not an SNMP integer
        (b"42", None),
        (Missing.NO_SUCH_OBJECT, None),
        (ObjectIdValue((1, 3)), None),
        (None, None),
    ],
)
def test_as_int_accepts_only_plain_integers(value: Value | None, expected: int | None) -> None:
    assert as_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"HP LaserJet\x00\x00\x00", "HP LaserJet"),  # NUL padding
        (b"  Black \t\r\n Toner  ", "Black Toner"),  # whitespace collapsed
        (b'"RouterOS RB750Gr3"', "RouterOS RB750Gr3"),  # net-snmp's quotes
        (b'"', '"'),  # one quote alone is kept
        (b"a\x07b\x1bc\x7fd", "abcd"),  # control characters dropped
        (b"Imprimante \xe9tage", "Imprimante étage"),  # Latin-1 never fails
        (b"", ""),
        (b"00 1A 2B", "00 1A 2B"),  # hex stays as sent
    ],
)
def test_as_text_cleans_device_strings(value: bytes, expected: str) -> None:
    assert as_text(value) == expected


def test_as_text_is_bounded_and_none_for_non_strings() -> None:
    assert as_text(b"x" * 500) == "x" * 200
    assert as_text(b"abcdef", limit=3) == "abc"
    assert as_text(7) is None
    assert as_text(Missing.END_OF_MIB_VIEW) is None
    assert as_text(None) is None
    assert as_text(ObjectIdValue((1, 3))) is None


def test_as_oid_refuses_a_plain_tuple_and_other_types() -> None:
    assert as_oid(b"1.3.6") is None
    assert as_oid(5) is None
    assert as_oid(Missing.NO_SUCH_INSTANCE) is None
    assert as_oid(None) is None


def test_missing_markers_carry_the_rfc_3416_names() -> None:
    assert {m.value for m in Missing} == {"noSuchObject", "noSuchInstance", "endOfMibView"}
