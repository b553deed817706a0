"""POST /api/v1/reports as a plain ASGI endpoint (collector/ingest_http.py): tokens, the body's
bounds, and JSON answers with their headers, driven through the app and as raw ASGI."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector import agents
from collector.agents import TokenCache
from collector.budgets import ReportsRefused
from collector.errors import AuthError, ReportRejected
from collector.ingest import IngestOverloaded
from collector.ingest_http import (
    PATH,
    ReportsEndpoint,
    RequestTimeout,
    bearer_token,
    error_body,
    error_headers,
)
from collector.ratelimit import AgentRateLimiter, RateLimited
from tests.collector.builders import batch, pc_device
from tests.collector.support import Harness, start

# -- through the app ----------------------------------------------------------------------------


async def test_body_over_the_limit_is_413(harness: Harness) -> None:
    devices = [pc_device(f"pc-{i}") for i in range(60)]
    body = batch(harness.agent_id, [1, 2, 3], start(harness), devices=devices)
    assert len(json.dumps(body)) > 256 * 1024
    response = await harness.post(body)
    assert response.status_code == 413
    assert harness.state() == (0, 0)


async def test_missing_unknown_and_revoked_tokens_are_401(harness: Harness) -> None:
    body = batch(harness.agent_id, [1], start(harness))
    missing = await harness.client.post("/api/v1/reports", json=body)
    assert missing.status_code == 401
    unknown = await harness.post(body, token="agt_not-a-real-token")
    assert unknown.status_code == 401
    agents.revoke(harness.service.engine, harness.agent_id, harness.clock.now())
    revoked = await harness.post(body)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    assert harness.state() == (0, 0)


async def test_hot_path_answers_json_that_browsers_do_not_sniff(harness: Harness) -> None:
    ok = await harness.post(batch(harness.agent_id, [1], start(harness)))
    refused = await harness.post({"schema_version": 1}, token="agt_wrong")
    for response in (ok, refused):
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert ok.status_code == 200
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"


# -- the endpoint as raw ASGI -------------------------------------------------------------------


class Exchange:
    """One request to the endpoint: the body in ``chunks`` (or a disconnect), what it answered."""

    def __init__(self, headers: dict[str, str], chunks: Iterable[bytes | None]) -> None:
        self.scope: dict[str, Any] = {
            "type": "http",
            "method": "POST",
            "path": PATH,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        self._chunks = list(chunks)
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        chunk = self._chunks.pop(0)
        if chunk is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": bool(self._chunks)}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.sent[1]["body"])
        return answer


def _endpoint(harness: Harness, rate: float = 0.0, burst: int = 1) -> ReportsEndpoint:
    engine = harness.service.engine
    return ReportsEndpoint(harness.service, TokenCache(engine), AgentRateLimiter(rate, burst))


async def _answered(harness: Harness, code: str) -> float:
    """The collector's count of report requests answered with ``code``, from /metrics."""
    text = (await harness.client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cm_ingest_requests_total" and sample.labels.get("code") == code:
                return sample.value
    return 0.0


async def _call(endpoint: ReportsEndpoint, exchange: Exchange) -> Exchange:
    await endpoint(exchange.scope, exchange.receive, exchange.send)
    return exchange


async def test_a_body_in_several_chunks_is_stored_and_acknowledged(harness: Harness) -> None:
    raw = json.dumps(batch(harness.agent_id, [1, 2], start(harness), sent_at=harness.clock.now()))
    data = raw.encode()
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    assert len(chunks) > 3
    done = await _call(_endpoint(harness), Exchange(harness.auth(), chunks))
    assert done.status == 200, done.body
    assert done.body["acked_seq"] == 2
    assert done.headers["content-length"] == str(len(done.sent[1]["body"]))
    assert done.headers["cache-control"] == "no-store"
    assert harness.state() == (2, 2)


async def test_a_content_length_that_is_not_a_number_is_400(harness: Harness) -> None:
    headers = {**harness.auth(), "Content-Length": "12abc"}
    done = await _call(_endpoint(harness), Exchange(headers, [b"{}"]))
    assert done.status == 400
    assert done.body["field"] == "Content-Length"
    declared = {**harness.auth(), "Content-Length": str(10**9)}
    too_large = await _call(_endpoint(harness), Exchange(declared, [b"{}"]))
    assert too_large.status == 413


async def test_a_client_gone_mid_body_is_a_400_and_counted(harness: Harness) -> None:
    endpoint = _endpoint(harness)
    done = await _call(endpoint, Exchange(harness.auth(), [b'{"schema', None]))
    assert done.status == 400
    assert "closed the connection" in done.body["detail"]
    assert harness.state() == (0, 0)
    assert await _answered(harness, "400") == 1


async def test_an_agent_over_its_rate_is_refused_before_its_body_is_read(
    harness: Harness,
) -> None:
    endpoint = _endpoint(harness, rate=0.001, burst=1)
    body = json.dumps(batch(harness.agent_id, [1], start(harness), sent_at=harness.clock.now()))
    first = await _call(endpoint, Exchange(harness.auth(), [body.encode()]))
    assert first.status == 200
    second = Exchange(harness.auth(), [b"never read"])
    await _call(endpoint, second)
    assert second.status == 429
    assert int(second.headers["retry-after"]) >= 1
    assert second._chunks == [b"never read"]  # refused before a byte of the body was received


async def test_a_cached_token_still_cannot_write_once_revoked(harness: Harness) -> None:
    endpoint = _endpoint(harness)
    begin = start(harness)
    first = batch(harness.agent_id, [1], begin, sent_at=harness.clock.now())
    ok = await _call(endpoint, Exchange(harness.auth(), [json.dumps(first).encode()]))
    assert ok.status == 200
    agents.revoke(harness.service.engine, harness.agent_id, harness.clock.now())
    # The identity comes from the cache now; the journal transaction re-reads the agent.
    second = batch(harness.agent_id, [2], begin, sent_at=harness.clock.now())
    refused = await _call(endpoint, Exchange(harness.auth(), [json.dumps(second).encode()]))
    assert refused.status == 401
    assert "revoked" in refused.body["detail"]
    assert harness.state() == (1, 1)


# -- pure helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "problem"),
    [(None, "missing"), ("", "missing"), ("Basic abc", "must be"), ("Bearer   ", "must be")],
)
def test_a_bad_authorization_header_names_the_problem(header: str | None, problem: str) -> None:
    with pytest.raises(AuthError, match=problem):
        bearer_token(header)


def test_the_bearer_token_is_taken_whatever_the_scheme_case() -> None:
    assert bearer_token("Bearer agt_abc") == "agt_abc"
    assert bearer_token("bearer  agt_abc ") == "agt_abc"


def test_refusals_carry_their_retry_or_authenticate_headers() -> None:
    assert error_headers(AuthError("no"), 401) == [(b"www-authenticate", b"Bearer")]
    assert error_headers(RateLimited("ag_x", 2.2), 429) == [(b"retry-after", b"3")]
    assert error_headers(IngestOverloaded(10), 503) == [(b"retry-after", b"1")]
    assert error_headers(RequestTimeout(5), 408) == []


def test_the_error_body_names_the_field_and_the_refused_reports() -> None:
    plain = error_body(ReportRejected("reports.0.seq: bad", field="reports.0.seq"))
    assert plain == {"detail": "reports.0.seq: bad", "field": "reports.0.seq"}
    assert error_body(AuthError("who?")) == {"detail": "who?", "field": None}
    refused = ReportsRefused(
        "over budget", field="reports", status=409, budget="devices", refused=(4, 5)
    )
    body = error_body(refused)
    assert (body["budget"], body["refused"], body["field"]) == ("devices", [4, 5], "reports")
    assert "within 2.5 s" in str(RequestTimeout(2.5))
