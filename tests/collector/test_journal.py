"""The journal's payloads (collector/journal.py): a report stored as validated and read back,
and the evenly sampled reads of one agent's reports over a span, on both stores."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

from sqlalchemy import Engine, select

from agent.wire import Report
from collector.journal import decode_payload, encode_report, sampled_reports
from collector.schema import journal
from tests.collector.builders import pc_device, report
from tests.collector.support import enrolled, store
from tests.fakes import FakeClock


def test_a_payload_is_the_validated_report_compressed_and_reads_back_as_its_json() -> None:
    clock = FakeClock()
    validated = Report.model_validate(report(7, clock.now(), [pc_device("pc-1")]))
    payload = encode_report(validated)
    assert json.loads(zlib.decompress(payload)) == json.loads(validated.model_dump_json())
    document = decode_payload(payload)
    assert document["seq"] == 7
    assert Report.model_validate(document) == validated
    assert len(payload) < len(validated.model_dump_json())


def test_stored_reports_decode_to_what_the_agent_sent(engine: Engine) -> None:
    clock = FakeClock()
    agent = enrolled(engine, clock)
    store(engine, agent, [1, 2], clock.now() - timedelta(minutes=5), clock)
    with engine.connect() as conn:
        payloads = conn.execute(select(journal.c.seq, journal.c.payload)).all()
    assert sorted((seq, decode_payload(payload)["seq"]) for seq, payload in payloads) == [
        (1, 1),
        (2, 2),
    ]


def test_a_sample_is_every_stride_th_report_of_the_agent_in_the_span(engine: Engine) -> None:
    clock = FakeClock()
    agent = enrolled(engine, clock, "one")
    other = enrolled(engine, clock, "two")
    begin = clock.now() - timedelta(hours=1)
    # Reports 1..60 measured every 15 s from ``begin``; the other agent's are never read.
    store(engine, agent, list(range(1, 61)), begin, clock)
    store(engine, other, list(range(1, 61)), begin, clock)
    end = begin + timedelta(seconds=15 * 59)
    with engine.connect() as conn:
        every_sixth = sampled_reports(conn, agent.agent_id, begin - timedelta(seconds=1), end, 10)
        all_of_them = sampled_reports(conn, agent.agent_id, begin - timedelta(seconds=1), end, 100)
        # (start, end]: the report measured at ``begin`` itself is left out, the one at ``end`` in.
        bounded = sampled_reports(conn, agent.agent_id, begin, end, 100)
        nothing = sampled_reports(conn, agent.agent_id, end, end + timedelta(hours=1), 10)
    assert every_sixth.stride == 6
    decoded = sorted(every_sixth, key=lambda pair: pair[0])
    assert [document["seq"] for _at, document in decoded] == list(range(6, 61, 6))
    assert [at for at, _document in decoded] == [
        begin + timedelta(seconds=15 * (seq - 1)) for seq in range(6, 61, 6)
    ]
    assert all_of_them.stride == 1
    assert sorted(document["seq"] for _at, document in all_of_them) == list(range(1, 61))
    assert sorted(document["seq"] for _at, document in bounded) == list(range(2, 61))
    assert (nothing.stride, nothing.rows) == (1, [])
