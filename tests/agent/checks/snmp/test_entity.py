"""ENTITY-MIB chassis-first reading: the product's model and serial, not a module's."""

from __future__ import annotations

from agent.checks.snmp.entity import (
    ENT_PHYSICAL_CLASS,
    ENT_PHYSICAL_CONTAINED_IN,
    ENT_PHYSICAL_MODEL,
    ENT_PHYSICAL_SERIAL,
    Chassis,
    find_chassis,
)
from agent.checks.snmp.values import Oid, Value
from agent.checks.snmp.walk import Column

# PhysicalClass (RFC 6933): other(1), chassis(3), container(5), powerSupply(6), fan(7),
# module(9), port(10), stack(11).
CHASSIS, MODULE, PORT, STACK, POWER = 3, 9, 10, 11, 6


def table(*rows: tuple[int, int | None, int | None, bytes | None, bytes | None]) -> dict[
    Oid, Column
]:  # fmt: skip
    """Columns from (index, class, contained in, model, serial) rows; None leaves a cell out."""
    columns: dict[Oid, dict[Oid, Value]] = {
        ENT_PHYSICAL_CLASS: {},
        ENT_PHYSICAL_CONTAINED_IN: {},
        ENT_PHYSICAL_MODEL: {},
        ENT_PHYSICAL_SERIAL: {},
    }
    for index, cls, parent, model, serial in rows:
        for column, value in (
            (ENT_PHYSICAL_CLASS, cls),
            (ENT_PHYSICAL_CONTAINED_IN, parent),
            (ENT_PHYSICAL_MODEL, model),
            (ENT_PHYSICAL_SERIAL, serial),
        ):
            if value is not None:
                columns[column][(index,)] = value
    return {column: cells for column, cells in columns.items() if cells}


def test_the_chassis_wins_over_a_module_listed_first() -> None:
    columns = table(
        (1, PORT, 1000, b"GLC-T", b"AGM1234"),  # an SFP, the first row with a model name
        (2, POWER, 1000, b"PWR-C1-350WAC", b"DCB2222"),
        (1000, CHASSIS, 0, b"C9300-48P", b"FCW2204L050"),
    )
    assert find_chassis(columns) == Chassis((1000,), "C9300-48P", "FCW2204L050")


def test_a_stack_is_named_by_its_first_chassis() -> None:
    columns = table(
        (1, STACK, 0, b"", b""),
        (1001, CHASSIS, 1, b"WS-C2960X-48FPS-L", b"FCW1929B68S"),
        (2001, CHASSIS, 1, b"WS-C2960X-24PS-L", b"FCW1931A06Z"),
        (1002, MODULE, 1001, b"C2960X-STACK", b"FOC0000001"),
    )
    assert find_chassis(columns) == Chassis((1001,), "WS-C2960X-48FPS-L", "FCW1929B68S")


def test_a_top_level_chassis_comes_before_one_inside_another() -> None:
    columns = table(
        (5, CHASSIS, 9, b"INNER", b"S-INNER"),
        (9, CHASSIS, 0, b"OUTER", b"S-OUTER"),
    )
    assert find_chassis(columns) == Chassis((9,), "OUTER", "S-OUTER")


def test_a_chassis_without_a_model_still_gives_its_serial() -> None:
    # Huawei S5720: the chassis row has a bar code but no entPhysicalModelName.
    columns = table(
        (67108867, CHASSIS, 0, b"", b"2102359576DMHC000120"),
        (67108873, MODULE, 67108867, b"S5720-56C-PWR-EI-AC", b"12345678"),
    )
    assert find_chassis(columns) == Chassis((67108867,), None, "2102359576DMHC000120")


def test_empty_and_placeholder_chassis_rows_name_nothing() -> None:
    # EdgeOS and RouterOS send chassis rows with empty cells; some agents write "N/A".
    assert find_chassis(table((19, CHASSIS, 0, b"", b""), (20, CHASSIS, 0, b"N/A", b" "))) is None
    assert find_chassis({}) is None


def test_without_entphysicalclass_the_row_contained_in_nothing_is_the_device() -> None:
    # Cisco recordings trimmed to a few columns: no class, but containment.
    columns = table(
        (1, None, 1001, b"SFP-10G-SR", b"AVD0001"),
        (1001, None, 0, b"WS-C3560-48TS-S", b"CAT0912N0CU"),
    )
    assert find_chassis(columns) == Chassis((1001,), "WS-C3560-48TS-S", "CAT0912N0CU")


def test_with_only_model_and_serial_the_lowest_index_is_the_device() -> None:
    # FortiGate answers only entPhysicalModelName.1 and entPhysicalSerialNum.1.
    columns = table((1, None, None, b"FGT_60F", b"FGT60FTK00000000"))
    assert find_chassis(columns) == Chassis((1,), "FGT_60F", "FGT60FTK00000000")


def test_a_serial_made_of_hex_digits_is_kept_as_text() -> None:
    columns = table((1, CHASSIS, 0, b"UBNT-ES24", b"F03E34F342C3"))
    assert find_chassis(columns) == Chassis((1,), "UBNT-ES24", "F03E34F342C3")
