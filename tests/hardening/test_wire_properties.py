"""Property tests of the collector's wire parser: whatever arrives, the answer is a valid batch or a
4xx-class ReportRejected naming a field; never another exception (which would be a 500).
"""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.wire import ReportBatch
from collector.errors import ReportRejected
from collector.ingest import check_times, decode_body, parse_batch
from collector.settings import Settings
from tests.collector.builders import pc_device

LIMIT = 64 * 1024
SETTINGS = Settings(max_body_bytes=LIMIT, max_decompressed_bytes=LIMIT)
PROPERTY = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
timestamps = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())
encodings = st.sampled_from([None, "", "identity", "gzip", "GZIP ", "deflate", "br", "x-gzip"])


def _valid_batch(sent_at: str, measured_at: str, seq: int = 1) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "agent_id": "ag_prop",
        "sent_at": sent_at,
        "reports": [{"seq": seq, "measured_at": measured_at, "devices": [pc_device("pc-1")]}],
    }


def _outcome(raw: bytes, encoding: str | None, received_at: datetime) -> ReportBatch | None:
    """Run the request's parsing steps; a 4xx rejection is an acceptable outcome (None)."""
    try:
        body = decode_body(raw, encoding, LIMIT)
        assert len(body) <= LIMIT
        batch = parse_batch(body)
        check_times(batch, received_at, SETTINGS)
    except ReportRejected as exc:
        rejected = exc
    else:
        return batch
    assert 400 <= rejected.status < 500
    assert rejected.field
    assert str(rejected)
    return None


@PROPERTY
@given(raw=st.binary(max_size=2048), encoding=encodings)
def test_any_bytes_are_a_batch_or_a_4xx(raw: bytes, encoding: str | None) -> None:
    _outcome(raw, encoding, datetime.now(UTC))


@PROPERTY
@given(raw=st.binary(max_size=2048), level=st.integers(min_value=0, max_value=9))
def test_any_gzipped_bytes_are_a_batch_or_a_4xx(raw: bytes, level: int) -> None:
    _outcome(gzip.compress(raw, compresslevel=level), "gzip", datetime.now(UTC))


@PROPERTY
@given(value=json_values, gzipped=st.booleans())
def test_any_json_value_is_a_batch_or_a_4xx(value: Any, gzipped: bool) -> None:
    raw = json.dumps(value).encode()
    _outcome(gzip.compress(raw) if gzipped else raw, "gzip" if gzipped else None, datetime.now(UTC))


@PROPERTY
@given(
    sent_at=timestamps,
    measured_at=timestamps,
    seq=st.integers(min_value=-5, max_value=2**63),
    received_offset_days=st.integers(min_value=-(10**6), max_value=10**6),
)
# Found by the API fuzzer: the skew correction pushed measured_at below year 1 (was a 500).
@example(
    sent_at="2654-01-01T00:00:00+00:00",
    measured_at="0628-01-01T00:00:00+00:00",
    seq=1,
    received_offset_days=0,
)
def test_any_times_and_sequences_are_accepted_or_a_4xx(
    sent_at: str, measured_at: str, seq: int, received_offset_days: int
) -> None:
    # Agents with a flat CMOS battery send dates decades off; none may crash the time checks.
    try:
        received_at = datetime.now(UTC) + timedelta(days=received_offset_days)
    except OverflowError:
        return
    batch = _outcome(
        json.dumps(_valid_batch(sent_at, measured_at, seq)).encode(), None, received_at
    )
    if batch is not None:
        assert batch.reports[0].seq == seq


@PROPERTY
@given(
    flips=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
        min_size=1,
        max_size=8,
    ),
    gzipped=st.booleans(),
)
def test_a_corrupted_valid_batch_is_a_batch_or_a_4xx(
    flips: list[tuple[int, int]], gzipped: bool
) -> None:
    now = datetime.now(UTC)
    raw = bytearray(json.dumps(_valid_batch(now.isoformat(), now.isoformat())).encode())
    if gzipped:
        raw = bytearray(gzip.compress(bytes(raw)))
    for position, byte in flips:
        raw[position % len(raw)] = byte
    _outcome(bytes(raw), "gzip" if gzipped else None, now)


def test_a_gzip_bomb_is_413_not_memory() -> None:
    bomb = gzip.compress(b"[" * (LIMIT * 16))
    with pytest.raises(ReportRejected) as rejected:
        decode_body(bomb, "gzip", LIMIT)
    assert rejected.value.status == 413


def test_a_raw_deflate_stream_is_not_taken_for_gzip() -> None:
    with pytest.raises(ReportRejected) as rejected:
        decode_body(zlib.compress(b"{}"), "gzip", LIMIT)
    assert rejected.value.status == 400
