"""The sender's batches: built around the spool's stored JSON, the batch of those reports."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.sender import batch_json
from agent.spool import Spool
from agent.wire import SCHEMA_VERSION, DeviceReport, ReportBatch

names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
samples = st.builds(
    dict,
    name=names,
    value=st.floats(allow_nan=False, allow_infinity=False),
    labels=st.dictionaries(names.filter(lambda n: n != "kind"), st.text(max_size=20), max_size=3),
)
devices = st.builds(
    dict,
    device_id=st.from_regex(r"[A-Za-z0-9._:@/-]{1,40}", fullmatch=True),
    kind=st.sampled_from(["pc", "printer", "router", "service"]),
    samples=st.lists(samples, max_size=5),
    events=st.lists(
        st.builds(dict, type=names, message=st.text(max_size=40), attrs=st.just({})), max_size=2
    ),
    facts=st.dictionaries(names, st.text(max_size=20), max_size=2),
)
times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=60, deadline=None)
@given(
    rounds=st.lists(st.lists(devices, max_size=3), min_size=1, max_size=5),
    at=times,
    offset_hours=st.integers(-12, 14),
    oldest=st.none() | st.integers(1, 2**40),
)
def test_a_batch_from_spooled_json_is_the_batch_of_those_reports(
    rounds: list[list[dict]], at: datetime, offset_hours: int, oldest: int | None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        spool = Spool(Path(folder) / "spool.db")
        try:
            for n, round_ in enumerate(rounds):
                measured = [DeviceReport.model_validate(d) for d in round_]
                spool.append(at + timedelta(seconds=15 * n), measured)
            reports = spool.pending(100)
            stored = spool.pending_json(100)
        finally:
            spool.close()
    # The agent's clock may be in any zone (a PC set to UTC+7): the batch says UTC either way.
    sent_at = at.astimezone(UTC).astimezone(datetime.now().astimezone().tzinfo)
    sent_at += timedelta(hours=offset_hours)
    body = batch_json(
        agent_id="ag_1",
        sent_at=sent_at,
        oldest_unacked_seq=oldest,
        reports=[raw for _, raw in stored],
    )
    expected = ReportBatch(
        schema_version=SCHEMA_VERSION,
        agent_id="ag_1",
        sent_at=sent_at,
        oldest_unacked_seq=oldest,
        reports=reports,
    )
    assert [seq for seq, _ in stored] == [report.seq for report in reports]
    assert ReportBatch.model_validate_json(body) == expected
    # Byte for byte what serialising the models gives: the collector sees no difference.
    assert body == expected.model_dump_json().encode()
