"""Slow and stalled clients (slow-loris) cost a socket for a bounded time, never the service."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from collector import agents
from collector.schema import journal
from tests.agent.support import CollectorProcess, first_commune
from tests.collector.builders import batch

HEAD_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5


@pytest.fixture
def collector_process(engine: Engine, store_url: str, tmp_path: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(
        store_url,
        tmp_path,
        env={
            "COMMUNE_MONITOR_HTTP_HEAD_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
            "COMMUNE_MONITOR_INGEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        },
    )
    process.start()
    yield process
    process.stop()


def _enrolled(engine: Engine) -> agents.Enrolment:
    now = datetime.now(UTC)
    token = agents.create_enrol_token(engine, first_commune(engine), now, timedelta(hours=1))
    return agents.enrol(engine, token, "pc-slow", "test", now)


def _connect(process: CollectorProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", process.port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the timeout)."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _counter(process: CollectorProcess, name: str, **labels: str) -> float:
    text = httpx.get(f"{process.url}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def _stored(engine: Engine, agent_id: str) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(
            select(func.count()).select_from(journal).where(journal.c.agent_id == agent_id)
        ).scalar_one()
    return count


@pytest.mark.slow
def test_a_connection_that_never_sends_a_request_is_closed_with_408(
    collector_process: CollectorProcess,
) -> None:
    with _connect(collector_process) as sock:
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert _counter(collector_process, "cm_http_head_timeouts_total") >= 1


@pytest.mark.slow
def test_a_request_head_that_trickles_in_is_cut_at_its_deadline(
    collector_process: CollectorProcess,
) -> None:
    with _connect(collector_process) as sock:
        # A request line and one header, then nothing: the head never completes.
        sock.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    # The service itself is unaffected.
    assert httpx.get(f"{collector_process.url}/healthz", timeout=5).status_code == 200


@pytest.mark.slow
def test_a_stalled_report_body_gets_408_naming_the_body_and_stores_nothing(
    engine: Engine, collector_process: CollectorProcess
) -> None:
    agent = _enrolled(engine)
    body = json.dumps(batch(agent.agent_id, [1, 2], datetime.now(UTC))).encode()
    head = (
        "POST /api/v1/reports HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {agent.agent_token}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with _connect(collector_process) as sock:
        sock.sendall(head + body[: len(body) // 2])  # half the body, then the link stalls
        answer = _read_all(sock)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 408"), answer[:300]
    payload = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert payload["field"] == "body"
    assert _stored(engine, agent.agent_id) == 0
    assert _counter(collector_process, "cm_ingest_requests_total", code="408") == 1
    # The same batch sent whole afterwards is stored: nothing was half written.
    answer_ok = httpx.post(
        f"{collector_process.url}/api/v1/reports",
        content=body,
        headers={
            "Authorization": f"Bearer {agent.agent_token}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert answer_ok.status_code == 200, answer_ok.text
    assert answer_ok.json()["acked_seq"] == 2
    assert _stored(engine, agent.agent_id) == 2
