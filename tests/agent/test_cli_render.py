"""How the CLI shows values: units, binary sizes, local times."""

from __future__ import annotations

import pytest

from agent.cli_render import format_value


@pytest.mark.parametrize(
    ("name", "unit", "value", "shown"),
    [
        ("memory_total_bytes", "bytes", 4 * 1024**3, "4.0 GiB"),
        ("probe_seconds", "seconds", 0.0123, "12.3 ms"),
        ("memory_used_ratio", "ratio", 0.5, "50.0 %"),
        ("service_up", "boolean", 0, "NO"),
        ("boot_time_seconds", "seconds", 0, "1970-01-01 07:00:00 +07"),
    ],
)
def test_values_are_shown_in_units_a_technician_reads(
    name: str, unit: str, value: float, shown: str
) -> None:
    assert format_value(name, unit, value) == shown
