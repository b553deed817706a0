"""Fixtures of the console tests over HTTP: the fed province and a client of its app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from collector.settings import Settings
from tests.web.support import BASE, Province, build_province, console_app


@pytest.fixture
def province(engine: Engine, tmp_path: Path) -> Province:
    return build_province(engine, tmp_path)


@pytest.fixture
async def http(settings: Settings, province: Province) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=console_app(settings, province))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client
