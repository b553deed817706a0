"""The journal's payloads: how a report is stored (zlib-compressed JSON, exactly as validated)
and read back, and the evenly sampled reads of an agent's recent reports that charts and the
register's saturation figures use.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from agent.wire import Report
from collector.schema import journal

# Level 1: the journal is written on the ingest hot path; higher levels cost more CPU than the
# disk they save on these small, repetitive documents.
_LEVEL = 1


def encode_report(report: Report) -> bytes:
    """A validated report as its journal payload."""
    return zlib.compress(report.model_dump_json().encode(), _LEVEL)


def decode_payload(payload: bytes) -> dict[str, Any]:
    """A journal payload back as the report's JSON document."""
    data: dict[str, Any] = orjson.loads(zlib.decompress(payload))
    return data


@dataclass(frozen=True)
class Sample:
    """An even sample of one agent's reports over a span: every ``stride``-th by sequence."""

    stride: int
    rows: list[tuple[datetime, bytes]]

    def __iter__(self) -> Iterator[tuple[datetime, dict[str, Any]]]:
        """(measured at, report document), decoded one at a time."""
        for measured_at, payload in self.rows:
            yield measured_at, decode_payload(payload)


def sampled_reports(
    conn: Connection, agent_id: str, start: datetime, end: datetime, most: int
) -> Sample:
    """About ``most`` of ``agent_id``'s reports measured in (``start``, ``end``], evenly spread
    by sequence number: a week of minute reports is 10,080 rows, far more than a chart or an
    average needs."""
    in_span = (
        journal.c.agent_id == agent_id,
        journal.c.measured_at > start,
        journal.c.measured_at <= end,
    )
    total = conn.execute(select(func.count()).where(*in_span)).scalar_one()
    stride = max(1, int(total) // max(1, most))
    query = select(journal.c.measured_at, journal.c.payload).where(*in_span)
    if stride > 1:
        query = query.where(journal.c.seq % stride == 0)
    return Sample(stride, [(measured_at, payload) for measured_at, payload in conn.execute(query)])
