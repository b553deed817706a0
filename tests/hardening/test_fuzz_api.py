"""Schemathesis against the collector's own OpenAPI document: every operation, in process (ASGI),
once with the admin token and once with an enrolled agent's token, on SQLite and PostgreSQL.

Asserted for every generated request (valid and invalid ones): no 5xx, and every documented
answer matches its schema. The number of examples is bounded so that the whole file stays
within a few minutes on two cores; ``FUZZ_EXAMPLES`` raises it for a longer local run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from prometheus_client import CollectorRegistry
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine

from collector import agents
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from tests.agent.support import ADMIN_TOKEN, first_commune

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
BASE_URL = "http://testserver"
CHECKS = [not_a_server_error, response_schema_conformance]

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Tokens:
    admin: str
    agent: str
    agent_id: str


@pytest.fixture
def fuzz_tokens(engine: Engine) -> Tokens:
    now = datetime.now(UTC)
    enrol = agents.create_enrol_token(engine, first_commune(engine), now, timedelta(hours=1))
    enrolled = agents.enrol(engine, enrol, "fuzz-pc", "test", now)
    return Tokens(admin=ADMIN_TOKEN, agent=enrolled.agent_token, agent_id=enrolled.agent_id)


@dataclass
class Harness:
    """The collector app running on an event loop in a helper thread, reached through httpx's
    ASGI transport (schemathesis's own ASGI client needs urllib3 internals that the installed
    urllib3-future, pulled in by grafana-client, does not have)."""

    portal: BlockingPortal
    client: httpx.AsyncClient
    schema: Any

    def send(self, case: Any, headers: dict[str, str]) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
        prepared = requests.Request(
            method=kwargs["method"],
            url=kwargs["url"],
            headers=kwargs.get("headers"),
            params=kwargs.get("params"),
            cookies=kwargs.get("cookies"),
            json=kwargs.get("json"),
            data=kwargs.get("data"),
            files=kwargs.get("files"),
        ).prepare()
        raw = prepared.body
        body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
        wire_headers = [
            (str(name), value.decode("latin-1") if isinstance(value, bytes) else str(value))
            for name, value in prepared.headers.items()
        ]
        request = self.client.build_request(
            str(prepared.method), str(prepared.url), headers=wire_headers, content=body
        )
        return self.portal.call(self.client.send, request)


@pytest.fixture
def harness(engine: Engine, settings: Settings) -> Iterator[Harness]:
    service = build_service(settings, registry=CollectorRegistry(), engine=engine)
    app = create_app(service)
    schema = schemathesis.openapi.from_dict(app.openapi())
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(service.running()),
    ):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        try:
            yield Harness(portal, client, schema)
        finally:
            portal.call(client.aclose)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _aim(case: Any, tokens: Tokens, who: str) -> None:
    """Point an agent's own operations at its own id, so that generated batches and config
    polls get past the ownership check into validation, storage and the journal."""
    if who != "agent":
        return
    if case.operation.path == "/api/v1/reports" and isinstance(case.body, dict):
        case.body["agent_id"] = tokens.agent_id
    if case.operation.path == "/api/v1/agents/{agent_id}/config" and case.method == "GET":
        case.path_parameters = {**(case.path_parameters or {}), "agent_id": tokens.agent_id}


def _fuzz_operation(
    harness: Harness, operation: Any, headers: dict[str, str], tokens: Tokens, who: str
) -> int:
    """Run the bounded number of valid and invalid requests at one operation; returns how many."""
    ran = 0
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @FUZZ_SETTINGS
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        nonlocal ran
        _aim(case, tokens, who)
        response = harness.send(case, headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        ran += 1

    fuzz()
    return ran


@pytest.mark.parametrize("who", ["admin", "agent"])
def test_every_operation_answers_without_5xx_and_as_documented(
    harness: Harness, fuzz_tokens: Tokens, who: str
) -> None:
    token = fuzz_tokens.admin if who == "admin" else fuzz_tokens.agent
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in harness.schema.get_all_operations()]
    assert len(operations) >= 20, "the OpenAPI document lost operations"
    cases: dict[str, int] = {}
    failures: dict[str, str] = {}
    for operation in operations:
        # Every operation is fuzzed even after one fails, so one run lists every finding.
        try:
            cases[operation.label] = _fuzz_operation(harness, operation, headers, fuzz_tokens, who)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures[operation.label] = f"{exc.__class__.__name__}: {str(exc)[:1500]}"
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    # Every operation was exercised; the total is printed for the issue note.
    assert all(cases.values()), cases
    print(f"fuzz[{who}]: {sum(cases.values())} cases over {len(cases)} operations")
