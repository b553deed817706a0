"""Fixtures of the alerting tests that need a fed province (the console's test province)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.web.support import Province, build_province


@pytest.fixture
def province(engine: Engine, tmp_path: Path) -> Province:
    """Two communes fed through the real ingest path: one cut, one with a full disk."""
    return build_province(engine, tmp_path)
