"""Priority weights and thresholds: the packaged file, and checks that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.errors import ConfigError
from inventory.models import AssetKind
from inventory.priority_config import (
    Criticality,
    Placement,
    PriorityConfig,
    SaturationThresholds,
    load_priority_config,
)


def test_packaged_yaml_equals_the_defaults() -> None:
    assert load_priority_config() == PriorityConfig()


def test_weights_load_from_yaml_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "weights.yaml"
    path.write_text("weights:\n  failures: 60\n", encoding="utf-8")
    loaded = load_priority_config(path)
    assert loaded.weights.failures == 60
    assert loaded.weights.age == 25
    path.write_text("weights:\n  failures: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="weights, field 'failures'"):
        load_priority_config(path)
    path.write_text(
        "weights:\n  age: 0\n  remaining_value: 0\n  failures: 0\n  saturation: 0\n"
        "  workload: 0\n  criticality: 0\n  out_of_service: 0\n  unsupported_os: 0\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="at least one weight"):
        load_priority_config(path)


def test_thresholds_start_below_full_and_patterns_compile() -> None:
    with pytest.raises(ValueError, match="memory_start_percent 99"):
        SaturationThresholds(memory_start_percent=99)
    with pytest.raises(ValueError, match="print_start_ratio"):
        SaturationThresholds(print_start_ratio=2.0)
    with pytest.raises(ValueError, match="counter_room_pattern is not a regular expression"):
        PriorityConfig(counter_room_pattern="quầy(")


def test_criticality_of_computers_depends_on_where_they_serve() -> None:
    criticality = Criticality()
    assert criticality.of(AssetKind.PC, Placement.COUNTER) == 1.0
    assert criticality.of(AssetKind.PC, Placement.PUBLIC) == 0.6
    assert criticality.of(AssetKind.PC, Placement.BACK_OFFICE) == 0.4
    assert criticality.of(AssetKind.SCANNER, Placement.BACK_OFFICE) == 0.9
