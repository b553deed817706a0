"""Fixtures of the inventory tests: the packaged lives table and the bundled commune list."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.communes import BUNDLED_UNITS
from inventory.lives import LifeTables, load_life_tables
from inventory.sample_register import load_units

# The 2025 list of units shipped with the collector (collector/data/, with its source).
UNITS_CSV: Path = BUNDLED_UNITS


@pytest.fixture(scope="session")
def tables() -> LifeTables:
    return load_life_tables()


@pytest.fixture(scope="session")
def units_csv() -> Path:
    return UNITS_CSV


@pytest.fixture(scope="session")
def valid_codes(units_csv: Path) -> frozenset[str]:
    return frozenset(unit.commune_code for unit in load_units(units_csv))
