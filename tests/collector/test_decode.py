"""From a request body to a batch for the journal (collector/decode.py): gunzip within bounds,
validation naming the field, the agent's times, and the reduction to atomic tuples."""

from __future__ import annotations

import gc
import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.wire import Report, ReportBatch
from collector.decode import (
    DecodeLimits,
    NeedsWorker,
    check_times,
    check_work,
    decode_batch,
    decode_body,
    parse_batch,
    prepare_batch,
    skew_correction,
)
from collector.errors import Forbidden, ReportRejected
from collector.settings import Settings
from tests.collector.builders import batch, gzipped, pc_device, snmp_device
from tests.collector.support import Harness, start

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PC_SAMPLES = len(pc_device("pc-1")["samples"])
LIMITS = DecodeLimits(
    max_decompressed_bytes=1024 * 1024,
    max_objects_per_batch=10_000,
    future_window_seconds=300.0,
    clock_skew_tolerance_seconds=30.0,
)

# -- through the API ----------------------------------------------------------------------------


async def test_gzip_body_is_accepted(harness: Harness) -> None:
    body = gzipped(batch(harness.agent_id, [1], start(harness)))
    response = await harness.client.post(
        "/api/v1/reports",
        content=body,
        headers={**harness.auth(), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["acked_seq"] == 1


@pytest.mark.parametrize(
    ("mutate", "status", "field_part"),
    [
        (lambda b: {**b, "schema_version": 2}, 422, "schema_version"),
        (lambda b: {**b, "reports": [{**b["reports"][0], "seq": "abc"}]}, 422, "reports.0.seq"),
        (
            lambda b: {**b, "reports": [{**b["reports"][0], "measured_at": "2026-03-02T08:00:00"}]},
            422,
            "reports.0.measured_at",
        ),
        (lambda b: {**b, "reports": []}, 422, "reports"),
        (lambda b: {k: v for k, v in b.items() if k != "sent_at"}, 422, "sent_at"),
        (lambda b: {**b, "unexpected": 1}, 422, "unexpected"),
    ],
    ids=["schema-version", "seq-type", "naive-time", "empty", "missing-field", "extra-field"],
)
async def test_invalid_batch_names_the_field_and_stores_nothing(
    harness: Harness, mutate: Any, status: int, field_part: str
) -> None:
    before = harness.state()
    response = await harness.post(mutate(batch(harness.agent_id, [1], start(harness))))
    assert response.status_code == status, response.text
    assert field_part in response.json()["field"]
    assert harness.state() == before


async def test_bad_sample_name_is_rejected_with_its_path(harness: Harness) -> None:
    device = pc_device("pc-1")
    device["samples"][0]["name"] = "CPU Percent"
    response = await harness.post(batch(harness.agent_id, [1], start(harness), devices=[device]))
    assert response.status_code == 422
    assert response.json()["field"] == "reports.0.devices.0.samples.0.name"
    assert harness.state() == (0, 0)


async def test_malformed_json_is_400(harness: Harness) -> None:
    response = await harness.client.post(
        "/api/v1/reports", content=b'{"schema_version": 1,', headers=harness.auth()
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert harness.state() == (0, 0)


async def test_gzip_bomb_is_refused(harness: Harness) -> None:
    bomb = gzip.compress(b"{" + b" " * (8 * 1024 * 1024) + b"}")
    assert len(bomb) < 256 * 1024
    response = await harness.client.post(
        "/api/v1/reports",
        content=bomb,
        headers={**harness.auth(), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413
    assert "decompresses" in response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "encoding", "status"),
    [
        (b"not gzip at all", "gzip", 400),
        (gzip.compress(b'{"a": 1}')[:-6], "gzip", 400),
        (b"{}", "br", 415),
    ],
    ids=["not-gzip", "truncated-gzip", "unknown-encoding"],
)
async def test_bad_encoding_is_4xx(
    harness: Harness, content: bytes, encoding: str, status: int
) -> None:
    response = await harness.client.post(
        "/api/v1/reports", content=content, headers={**harness.auth(), "Content-Encoding": encoding}
    )
    assert response.status_code == status
    assert harness.state() == (0, 0)


async def test_posting_for_another_agent_is_403(harness: Harness) -> None:
    response = await harness.post(batch("ag_someoneelse0000", [1], start(harness)))
    assert response.status_code == 403
    assert response.json()["detail"].startswith("agent_id")
    assert harness.state() == (0, 0)
    # Refused inside the ingest's pause of cyclic collection: the pause must not outlive it.
    assert gc.isenabled()


async def test_reports_measured_in_the_future_are_rejected(harness: Harness) -> None:
    future = harness.clock.now() + timedelta(minutes=30)
    body = batch(harness.agent_id, [1], future, sent_at=harness.clock.now())
    response = await harness.post(body)
    assert response.status_code == 422
    assert response.json()["field"] == "reports.0.measured_at"
    assert harness.state() == (0, 0)


async def test_repeated_sequence_in_one_batch_is_rejected(harness: Harness) -> None:
    body = batch(harness.agent_id, [1, 1], start(harness))
    response = await harness.post(body)
    assert response.status_code == 422
    assert harness.state() == (0, 0)


# -- the reduction for the journal --------------------------------------------------------------


def _validated(seqs: list[int]) -> ReportBatch:
    devices = [pc_device("pc-1"), snmp_device("printer-1", n_samples=7)]
    body = batch("ag_prepared0001", seqs, START, devices=devices, oldest_unacked_seq=seqs[0])
    return ReportBatch.model_validate_json(json.dumps(body))


def _reachable_containers(root: object) -> list[object]:
    """Every object reachable from ``root`` that the cyclic collector tracks (classes aside)."""
    seen: dict[int, object] = {}
    todo = [root]
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        if item is not root and not gc.is_tracked(item):
            continue
        seen[id(item)] = item
        todo.extend(gc.get_referents(item))
    return [item for item in seen.values() if item is not root]


def test_each_report_keeps_its_number_time_samples_and_payload() -> None:
    validated = _validated([4, 5, 6])
    prepared = prepare_batch(validated)
    assert prepared.agent_id == "ag_prepared0001"
    assert prepared.sent_at == validated.sent_at
    assert prepared.oldest_unacked_seq == 4
    assert [r.seq for r in prepared.reports] == [4, 5, 6]
    for kept, original in zip(prepared.reports, validated.reports, strict=True):
        assert kept.measured_at == original.measured_at
        assert kept.samples == sum(len(d.samples) for d in original.devices) == PC_SAMPLES + 7
        assert Report.model_validate_json(zlib.decompress(kept.payload)) == original


def test_no_model_object_survives_in_the_prepared_batch() -> None:
    # What makes the reduction worth it: what stays alive until the commit is a handful of
    # containers, however many samples the batch had, so collections have nothing to walk.
    prepared = prepare_batch(_validated(list(range(1, 41))))
    containers = _reachable_containers(prepared)
    assert all(isinstance(c, tuple) for c in containers), {type(c) for c in containers}
    # The tuple of reports, at most one tuple per report, and one flat tuple of atoms for each
    # report that grows the device state (the budgets' count: here the first report only).
    growing = sum(1 for r in prepared.reports if r.flat_growth)
    assert growing == 1
    assert len(containers) <= 1 + len(prepared.reports) + growing


def test_growth_names_each_device_and_its_series_per_name() -> None:
    prepared = prepare_batch(_validated([1, 2]))
    first, second = prepared.reports
    growth = first.growth
    assert ("printer-1", "", 0) in growth
    assert ("pc-1", "", 0) in growth
    # pc_device reports four cores and two volumes: that many series of those names.
    assert ("pc-1", "cpu_core_percent", 4) in growth
    assert ("pc-1", "disk_used_percent", 2) in growth
    assert ("printer-1", "if_in_octets_total", 6) in growth
    # The same devices and names again: marked as the previous report's, nothing repeated.
    assert second.same_growth
    assert second.growth == []


# -- bodies and their bounds --------------------------------------------------------------------


def test_an_identity_body_is_returned_as_it_came() -> None:
    body = b'{"schema_version": 1}'
    assert decode_body(body, None, 1024) is body
    assert decode_body(body, " Identity ", 1024) is body
    with pytest.raises(ReportRejected) as refused:
        decode_body(body, None, len(body) - 1)
    assert refused.value.status == 413


def test_a_gzip_body_decompresses_to_its_json() -> None:
    body = json.dumps({"a": list(range(1000))}).encode()
    assert decode_body(gzip.compress(body), "GZIP", 1024 * 1024) == body


def test_a_body_larger_than_the_inline_share_goes_to_the_worker() -> None:
    body = b"[" + b"1," * 5000 + b"1]"
    with pytest.raises(NeedsWorker):
        decode_body(body, None, 1024 * 1024, inline_max=1000)
    with pytest.raises(NeedsWorker):
        decode_body(gzip.compress(body), "gzip", 1024 * 1024, inline_max=1000)
    # Within the share it is decoded here, and past the hard bound it is refused, not handed on.
    assert decode_body(body, None, 1024 * 1024, inline_max=len(body)) == body
    with pytest.raises(ReportRejected) as refused:
        decode_body(gzip.compress(body), "gzip", 1000, inline_max=5000)
    assert refused.value.status == 413


def test_bytes_after_the_gzip_member_are_refused() -> None:
    body = gzip.compress(b"{}") + gzip.compress(b'{"smuggled": 1}')
    with pytest.raises(ReportRejected, match="follow the end of the gzip stream") as refused:
        decode_body(body, "gzip", 1024)
    assert refused.value.status == 400


def test_too_many_objects_are_refused_before_validation() -> None:
    check_work(b"{}" * 10, 10)
    with pytest.raises(ReportRejected, match=r"holds 11 JSON objects") as refused:
        check_work(b"{}" * 11, 10)
    assert (refused.value.status, refused.value.field) == (413, "reports")
    # Gzipped, the count is made while decompressing: refused before the rest comes out.
    with pytest.raises(ReportRejected, match="max_objects_per_batch"):
        decode_body(gzip.compress(b"{}" * 50_000), "gzip", 10**7, max_objects=100)


def test_parse_batch_names_the_first_bad_field_and_counts_the_others() -> None:
    body = batch("ag_x", [1], START, sent_at=START)
    body["reports"][0]["seq"] = "one"
    body["sent_at"] = "yesterday"
    with pytest.raises(ReportRejected) as refused:
        parse_batch(json.dumps(body).encode())
    assert refused.value.field == "sent_at"
    assert "(2 errors)" in str(refused.value)


# -- the agent's times --------------------------------------------------------------------------


def _batch(
    sent_at: datetime, measured: list[datetime], seqs: list[int] | None = None
) -> ReportBatch:
    body = batch("ag_x", seqs or list(range(1, len(measured) + 1)), START, sent_at=sent_at)
    for report, at in zip(body["reports"], measured, strict=True):
        report["measured_at"] = at.isoformat()
    return ReportBatch.model_validate(body)


def test_a_skew_within_the_tolerance_is_not_corrected() -> None:
    now = START
    small = _batch(now - timedelta(seconds=29), [now - timedelta(minutes=1)])
    assert skew_correction(small, now, LIMITS) == timedelta(0)
    large = _batch(now - timedelta(hours=1), [now - timedelta(hours=1)])
    assert skew_correction(large, now, LIMITS) == timedelta(hours=1)
    ahead = _batch(now + timedelta(minutes=10), [now + timedelta(minutes=10)])
    # The PC's clock is ahead: its report is brought back, so it is not in the future.
    assert check_times(ahead, now, LIMITS) == timedelta(minutes=-10)


def test_a_report_past_the_future_window_names_its_index() -> None:
    now = START
    late = _batch(now, [now, now + timedelta(seconds=301)])
    with pytest.raises(ReportRejected) as refused:
        check_times(late, now, LIMITS)
    assert refused.value.field == "reports.1.measured_at"
    ok = _batch(now, [now, now + timedelta(seconds=299)])
    assert check_times(ok, now, LIMITS) == timedelta(0)


def test_decode_batch_refuses_another_agents_batch_and_corrects_times() -> None:
    now = START
    body = batch("ag_mine", [1, 2], now - timedelta(hours=2), sent_at=now - timedelta(hours=1))
    raw = json.dumps(body).encode()
    with pytest.raises(Forbidden, match="belongs to 'ag_other'"):
        decode_batch(raw, None, "ag_other", now, LIMITS)
    decoded = decode_batch(gzip.compress(raw), "gzip", "ag_mine", now, LIMITS)
    assert decoded.correction == timedelta(hours=1)
    assert [r.seq for r in decoded.batch.reports] == [1, 2]
    assert gc.isenabled()


def test_limits_are_read_from_the_settings() -> None:
    settings = Settings(
        max_body_bytes=12345, max_decompressed_bytes=123456, future_window_seconds=60
    )
    limits = DecodeLimits.of(settings)
    assert limits.max_decompressed_bytes == 123456
    assert limits.future_window_seconds == 60
    assert limits.max_objects_per_batch == settings.ingest.max_objects_per_batch
    assert limits.clock_skew_tolerance_seconds == settings.clock_skew_tolerance_seconds
