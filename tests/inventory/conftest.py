"""Fixtures of the inventory tests: the packaged lives table and the shared commune list."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.lives import LifeTables, load_life_tables
from inventory.sample_register import load_units
from tests.services import SHARED

UNITS_CSV: Path = SHARED / "data" / "vn_units_2025.csv"


@pytest.fixture(scope="session")
def tables() -> LifeTables:
    return load_life_tables()


@pytest.fixture(scope="session")
def units_csv() -> Path:
    if not UNITS_CSV.exists():
        pytest.fail(f"{UNITS_CSV} is missing: the tests need shared/data beside the repository")
    return UNITS_CSV


@pytest.fixture(scope="session")
def valid_codes(units_csv: Path) -> frozenset[str]:
    return frozenset(unit.commune_code for unit in load_units(units_csv))
