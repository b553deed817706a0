"""Fixtures of the composition root's tests: an empty store to restore a backup into."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_database
from tests.services import require_binary


@pytest.fixture
def empty_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty store of the same kind: where a backup is restored."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'commune-monitor.db'}"
    else:
        require_binary("pg_dump")  # skipped here without them, failed under CI=true
        require_binary("pg_restore")
        yield from postgres_database()
