"""collector.validation_pool: large batches decoded in a real worker process, with the bounds on
batches in validation (503 past the queue, 429 for an agent's second) and errors carried back."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.decode import Decoded, DecodeLimits, decode_batch
from collector.errors import Forbidden, ReportRejected
from collector.settings import Settings, load_settings
from collector.validation_pool import (
    RETRY_AFTER_SECONDS,
    AgentBusy,
    ValidationBusy,
    ValidationPool,
    _decode_in_worker,
    _raise,
)
from tests.collector.builders import batch

AGENT = "agt-0001"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def settings_for(tmp_path: Path, **ingest: Any) -> Settings:
    # No store is touched: the pool only reads the ingest bounds.
    return load_settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'store.db'}", ingest=ingest
    )


def body(agent_id: str = AGENT, seqs: list[int] | None = None) -> bytes:
    return json.dumps(batch(agent_id, seqs or [1, 2, 3], NOW, sent_at=NOW)).encode()


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[ValidationPool]:
    pool = ValidationPool(settings_for(tmp_path, validation_queue_max=2))
    yield pool
    pool.close()


async def test_a_large_batch_is_decoded_in_the_worker(pool: ValidationPool) -> None:
    decoded = await pool.decode(gzip.compress(body()), "gzip", AGENT, NOW)
    assert isinstance(decoded, Decoded)
    assert decoded.batch.agent_id == AGENT
    assert len(decoded.batch.reports) == 3
    assert pool.in_flight == 0
    # The worker stays for the next batch.
    again = await pool.decode(body(seqs=[4]), None, AGENT, NOW)
    assert len(again.batch.reports) == 1


async def test_an_invalid_batch_comes_back_as_the_same_rejection(pool: ValidationPool) -> None:
    with pytest.raises(ReportRejected) as invalid:
        await pool.decode(b"{not json", None, AGENT, NOW)
    assert invalid.value.status == 400
    assert "not valid JSON" in str(invalid.value)
    with pytest.raises(ReportRejected) as gzip_error:
        await pool.decode(b"\x1f\x8b broken", "gzip", AGENT, NOW)
    assert gzip_error.value.status == 400
    assert pool.in_flight == 0


async def test_a_batch_of_another_agent_is_forbidden(pool: ValidationPool) -> None:
    with pytest.raises(Forbidden, match="this token belongs to 'agt-0001', not 'agt-0002'"):
        await pool.decode(body("agt-0002"), None, AGENT, NOW)
    assert pool.in_flight == 0


async def test_one_agent_has_one_batch_in_validation_and_the_queue_is_bounded(
    pool: ValidationPool,
) -> None:
    first = asyncio.create_task(pool.decode(body(), None, AGENT, NOW))
    await asyncio.sleep(0)  # one loop turn: the first batch is registered
    assert pool.in_flight == 1
    with pytest.raises(AgentBusy) as busy:
        await pool.decode(body(), None, AGENT, NOW)
    assert (busy.value.status, busy.value.field) == (429, "Authorization")
    assert busy.value.retry_after == RETRY_AFTER_SECONDS
    assert AGENT in str(busy.value)
    second = asyncio.create_task(pool.decode(body("agt-0002"), None, "agt-0002", NOW))
    await asyncio.sleep(0)
    assert pool.in_flight == 2
    with pytest.raises(ValidationBusy) as full:
        await pool.decode(body("agt-0003"), None, "agt-0003", NOW)
    assert (full.value.status, full.value.field) == (503, "body")
    assert "validation_queue_max" in str(full.value)
    assert "nothing was stored" in str(full.value)
    await asyncio.gather(first, second)
    assert pool.in_flight == 0


def test_worker_errors_travel_as_plain_values_and_are_raised_again(tmp_path: Path) -> None:
    limits = DecodeLimits.of(settings_for(tmp_path))
    outcome = _decode_in_worker(b"[]", None, AGENT, NOW, limits)
    assert isinstance(outcome, tuple)
    kind, message, field, status = outcome
    assert (kind, status) == ("ReportRejected", 422)
    with pytest.raises(ReportRejected) as again:
        _raise(outcome)
    assert (str(again.value), again.value.field, again.value.status) == (message, field, 422)
    forbidden = _decode_in_worker(body("agt-0002"), None, AGENT, NOW, limits)
    assert isinstance(forbidden, tuple)
    assert forbidden[0] == "Forbidden"
    assert forbidden[2:] == (None, 0)
    with pytest.raises(Forbidden):
        _raise(forbidden)


def test_an_error_without_field_or_status_defaults_to_a_422_on_the_body() -> None:
    with pytest.raises(ReportRejected) as raised:
        _raise(("CollectorError", "something", None, 0))
    assert (raised.value.field, raised.value.status) == ("body", 422)


def test_the_worker_decodes_the_same_as_inline(tmp_path: Path) -> None:
    limits = DecodeLimits.of(settings_for(tmp_path))
    decoded = _decode_in_worker(body(), None, AGENT, NOW, limits)
    assert isinstance(decoded, Decoded)
    assert decoded == decode_batch(body(), None, AGENT, NOW, limits)


def test_close_without_a_worker_is_harmless(tmp_path: Path) -> None:
    pool = ValidationPool(settings_for(tmp_path))
    pool.close()
    pool.close()
    assert pool.in_flight == 0
