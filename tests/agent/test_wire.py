"""The wire schema: round trips, and only our validation errors for bad input."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.wire import DeviceReport, ReportBatch

names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
labels = st.dictionaries(
    names.filter(lambda n: n not in {"province", "commune_code", "device_id", "kind", "agent_id"}),
    st.text(max_size=30),
    max_size=4,
)
samples = st.builds(
    dict,
    name=names,
    value=st.floats(allow_nan=False, allow_infinity=False),
    labels=labels,
)
devices = st.builds(
    dict,
    device_id=st.from_regex(r"[A-Za-z0-9._:@/-]{1,40}", fullmatch=True),
    kind=st.sampled_from(["pc", "printer", "router", "switch", "scanner"]),
    samples=st.lists(samples, max_size=8),
)
times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(devs=st.lists(devices, max_size=4), seq=st.integers(1, 2**40), at=times)
def test_batch_round_trips_through_json(devs: list[dict], seq: int, at: datetime) -> None:
    batch = ReportBatch.model_validate(
        {
            "schema_version": 1,
            "agent_id": "ag_1",
            "sent_at": at,
            "reports": [{"seq": seq, "measured_at": at, "devices": devs}],
        }
    )
    assert ReportBatch.model_validate_json(batch.model_dump_json()) == batch


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_raise_only_validation_errors(body: bytes) -> None:
    with contextlib.suppress(ValidationError):
        ReportBatch.model_validate_json(body)


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        ({"name": "CPU", "value": 1}, "should match pattern"),
        ({"name": "cpu", "value": float("nan")}, "finite number"),
        ({"name": "cpu", "value": 1, "labels": {"kind": "x"}}, "reserved for the collector"),
        ({"name": "cpu", "value": 1, "labels": {"Bad-Label": "x"}}, "should match pattern"),
        ({"name": "cpu", "value": 1, "labels": {f"l{i}": "x" for i in range(17)}}, "at most 16"),
    ],
    ids=["uppercase-name", "nan", "reserved-label", "bad-label-name", "too-many-labels"],
)
def test_bad_samples_are_refused_with_a_reason(sample: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DeviceReport.model_validate({"device_id": "pc-1", "kind": "pc", "samples": [sample]})


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        ReportBatch.model_validate(
            {
                "schema_version": 1,
                "agent_id": "a",
                "sent_at": "2026-01-01T00:00:00",
                "reports": [{"seq": 1, "measured_at": "2026-01-01T00:00:00Z"}],
            }
        )
