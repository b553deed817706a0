"""The ingest API on a real store (SQLite and PostgreSQL): durability, idempotency, bad input."""

from __future__ import annotations

import gc
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from agent.wire import Ack
from collector import agents
from collector.schema import agents as agents_table
from collector.schema import device_state, journal
from collector.settings import Settings
from province.app import create_app
from province.migrate import head_revision
from province.service import ProvinceService, build_service
from tests.collector.builders import batch, gzipped, pc_device
from tests.fakes import FakeClock

COMMUNE = "14134"  # a commune of province 37 (Ninh Bình), loaded by the engine fixture


@dataclass
class Harness:
    """A running collector app with a fake clock and one enrolled agent."""

    client: httpx.AsyncClient
    service: ProvinceService
    clock: FakeClock
    agent_id: str
    token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def post(self, body: Any, token: str | None = None, **kwargs: Any) -> httpx.Response:
        if isinstance(body, dict) and "sent_at" in body and not kwargs.pop("keep_sent_at", False):
            # Agents stamp a batch when they send it: now, on a correct clock.
            body = {**body, "sent_at": self.clock.now().isoformat()}
        return await self.client.post(
            "/api/v1/reports", json=body, headers=self.auth(token), **kwargs
        )

    def state(self) -> tuple[int, int]:
        """(journal rows, acked sequence) — what bad input must leave unchanged."""
        with self.service.engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(journal)).scalar_one()
            acked = conn.execute(
                select(agents_table.c.acked_seq).where(agents_table.c.id == self.agent_id)
            ).scalar_one()
        return rows, acked


def _first_commune(engine: Engine) -> str:
    from collector.schema import communes

    with engine.connect() as conn:
        code: str = (
            conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars().first()
        )
    return code


@pytest.fixture
async def harness(engine: Engine, settings: Settings) -> AsyncIterator[Harness]:
    clock = FakeClock()
    service = build_service(
        settings.model_copy(
            update={
                "run_processor": False,
                "max_body_bytes": 256 * 1024,
                "max_decompressed_bytes": 1024 * 1024,
            }
        ),
        clock=clock,
        registry=CollectorRegistry(),
        engine=engine,
    )
    commune = _first_commune(engine)
    token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1))
    app = create_app(service)
    async with service.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            response = await client.post(
                "/api/v1/enrol", json={"token": token, "hostname": "quay-1", "agent_version": "0.1"}
            )
            assert response.status_code == 201, response.text
            body = response.json()
            yield Harness(client, service, clock, body["agent_id"], body["agent_token"])


def _start(h: Harness) -> Any:
    return h.clock.now() - timedelta(minutes=30)


async def test_batch_is_acknowledged_after_it_is_stored(harness: Harness) -> None:
    response = await harness.post(batch(harness.agent_id, [1, 2, 3], _start(harness)))
    assert response.status_code == 200, response.text
    ack = response.json()
    assert ack["acked_seq"] == 3
    assert ack["stored"] == [1, 2, 3]
    assert ack["duplicates"] == 0
    assert harness.state() == (3, 3)
    with harness.service.engine.connect() as conn:
        payload = conn.execute(select(journal.c.payload).where(journal.c.seq == 2)).scalar_one()
    stored = json.loads(zlib.decompress(payload))
    assert stored["seq"] == 2
    assert stored["devices"][0]["kind"] == "pc"
    assert gc.isenabled()


async def test_gzip_body_is_accepted(harness: Harness) -> None:
    body = gzipped(batch(harness.agent_id, [1], _start(harness)))
    response = await harness.client.post(
        "/api/v1/reports",
        content=body,
        headers={**harness.auth(), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["acked_seq"] == 1


async def test_resent_reports_are_stored_once(harness: Harness) -> None:
    body = batch(harness.agent_id, [1, 2], _start(harness))
    first = await harness.post(body)
    second = await harness.post(body)
    assert first.json()["duplicates"] == 0
    assert second.status_code == 200
    assert second.json()["duplicates"] == 2
    assert second.json()["acked_seq"] == 2
    assert harness.state() == (2, 2)


async def test_ack_is_highest_contiguous_sequence(harness: Harness) -> None:
    start = _start(harness)
    gap = await harness.post(batch(harness.agent_id, [1, 3, 4], start))
    assert gap.json()["acked_seq"] == 1
    assert gap.json()["stored"] == [1, 3, 4]
    filled = await harness.post(batch(harness.agent_id, [2], start))
    assert filled.json()["acked_seq"] == 4
    assert harness.state() == (4, 4)


async def test_agent_dropped_reports_do_not_block_the_ack(harness: Harness) -> None:
    # The agent's spool overflowed and dropped 1..9: it says its oldest report is 10.
    body = batch(harness.agent_id, [10, 11], _start(harness), oldest_unacked_seq=10)
    response = await harness.post(body)
    assert response.json()["acked_seq"] == 11


async def test_processor_builds_current_state_and_metrics(harness: Harness) -> None:
    start = _start(harness)
    await harness.post(
        batch(harness.agent_id, [1, 2], start, devices=[pc_device("pc-quay-1", cpu=33.0)])
    )
    assert harness.service.processor.drain() == 2
    with harness.service.engine.connect() as conn:
        row = conn.execute(select(device_state)).one()
    assert row.device_id == "pc-quay-1"
    assert row.measured_at == start + timedelta(seconds=15)
    metrics = (await harness.client.get("/metrics")).text
    line = next(line for line in metrics.splitlines() if line.startswith("cm_device_cpu_percent{"))
    assert 'device_id="pc-quay-1"' in line
    assert 'province="37"' in line
    assert line.endswith(" 33.0")
    assert f'cm_agent_up{{agent_id="{harness.agent_id}"' in metrics or "cm_agent_up{" in metrics


async def test_replayed_old_report_does_not_overwrite_newer_state(harness: Harness) -> None:
    start = _start(harness)
    await harness.post(batch(harness.agent_id, [2], start, devices=[pc_device("pc-a", cpu=90.0)]))
    await harness.post(batch(harness.agent_id, [1], start, devices=[pc_device("pc-a", cpu=10.0)]))
    harness.service.processor.drain()
    with harness.service.engine.connect() as conn:
        samples = json.loads(conn.execute(select(device_state.c.samples)).scalar_one())
    assert [s[:3] for s in samples if s[0] == "cpu_percent"] == [["cpu_percent", {}, 90.0]]


async def test_reports_of_two_checks_on_one_device_are_merged(harness: Harness) -> None:
    # host (every 15 s) and local_service (every 60 s) both report the counter PC.
    start = _start(harness)
    host = {
        "device_id": "pc-a",
        "kind": "pc",
        "facts": {"hostname": "quay-1"},
        "samples": [{"name": "cpu_percent", "value": 40.0}],
    }
    signing = {
        "device_id": "pc-a",
        "kind": "pc",
        "samples": [{"name": "local_service_up", "value": 1.0, "labels": {"service": "vgca"}}],
    }
    newer_host = {**host, "samples": [{"name": "cpu_percent", "value": 55.0}], "facts": {}}
    await harness.post(batch(harness.agent_id, [1], start, devices=[host]))
    await harness.post(batch(harness.agent_id, [2], start, devices=[signing]))
    harness.service.processor.drain()
    await harness.post(batch(harness.agent_id, [3], start, devices=[newer_host]))
    harness.service.processor.drain()
    with harness.service.engine.connect() as conn:
        row = conn.execute(select(device_state)).one()
    values = {(s[0], json.dumps(s[1])): s[2] for s in json.loads(row.samples)}
    assert values == {("cpu_percent", "{}"): 55.0, ("local_service_up", '{"service": "vgca"}'): 1.0}
    assert json.loads(row.facts) == {"hostname": "quay-1"}


async def test_agent_clock_skew_is_recorded_and_corrected(harness: Harness) -> None:
    # The PC's clock is an hour behind (a dead CMOS battery is common on old counter PCs).
    behind = harness.clock.now() - timedelta(hours=1)
    body = batch(harness.agent_id, [1], behind, sent_at=behind)
    response = await harness.post(body, keep_sent_at=True)
    assert response.status_code == 200
    assert response.json()["clock_skew_seconds"] == pytest.approx(3600, abs=1)
    with harness.service.engine.connect() as conn:
        measured = conn.execute(select(journal.c.measured_at)).scalar_one()
    assert measured == harness.clock.now()


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
    response = await harness.post(mutate(batch(harness.agent_id, [1], _start(harness))))
    assert response.status_code == status, response.text
    assert field_part in response.json()["field"]
    assert harness.state() == before


async def test_bad_sample_name_is_rejected_with_its_path(harness: Harness) -> None:
    device = pc_device("pc-1")
    device["samples"][0]["name"] = "CPU Percent"
    response = await harness.post(batch(harness.agent_id, [1], _start(harness), devices=[device]))
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


async def test_body_over_the_limit_is_413(harness: Harness) -> None:
    devices = [pc_device(f"pc-{i}") for i in range(60)]
    body = batch(harness.agent_id, [1, 2, 3], _start(harness), devices=devices)
    assert len(json.dumps(body)) > 256 * 1024
    response = await harness.post(body)
    assert response.status_code == 413
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


async def test_missing_unknown_and_revoked_tokens_are_401(harness: Harness) -> None:
    body = batch(harness.agent_id, [1], _start(harness))
    missing = await harness.client.post("/api/v1/reports", json=body)
    assert missing.status_code == 401
    unknown = await harness.post(body, token="agt_not-a-real-token")
    assert unknown.status_code == 401
    agents.revoke(harness.service.engine, harness.agent_id, harness.clock.now())
    revoked = await harness.post(body)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    assert harness.state() == (0, 0)


async def test_rotated_token_replaces_the_old_one(harness: Harness) -> None:
    new = agents.rotate_token(harness.service.engine, harness.agent_id)
    body = batch(harness.agent_id, [1], _start(harness))
    assert (await harness.post(body)).status_code == 401
    assert (await harness.post(body, token=new)).status_code == 200


async def test_posting_for_another_agent_is_403(harness: Harness) -> None:
    response = await harness.post(batch("ag_someoneelse0000", [1], _start(harness)))
    assert response.status_code == 403
    assert response.json()["detail"].startswith("agent_id")
    assert harness.state() == (0, 0)
    # Refused inside the ingest's pause of cyclic collection: the pause must not outlive it.
    assert gc.isenabled()


async def test_enrolment_token_works_once(harness: Harness) -> None:
    engine = harness.service.engine
    token = agents.create_enrol_token(
        engine, _first_commune(engine), harness.clock.now(), timedelta(hours=1)
    )
    first = await harness.client.post("/api/v1/enrol", json={"token": token})
    second = await harness.client.post("/api/v1/enrol", json={"token": token})
    assert first.status_code == 201
    assert second.status_code == 409
    assert len(agents.list_agents(engine)) == 2


async def test_expired_and_unknown_enrolment_tokens_are_401(harness: Harness) -> None:
    engine = harness.service.engine
    token = agents.create_enrol_token(
        engine, _first_commune(engine), harness.clock.now(), timedelta(minutes=5)
    )
    harness.clock.advance(600)
    expired = await harness.client.post("/api/v1/enrol", json={"token": token})
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    unknown = await harness.client.post("/api/v1/enrol", json={"token": "enr_nope-nope"})
    assert unknown.status_code == 401


async def test_sequence_far_below_the_ack_is_409(harness: Harness) -> None:
    settings = harness.service.settings
    window = settings.sequence_window
    start = harness.clock.now() - timedelta(seconds=15 * (window + 10))
    first = await harness.post(
        batch(harness.agent_id, [window + 5], start, oldest_unacked_seq=window + 5)
    )
    assert first.json()["acked_seq"] == window + 5
    before = harness.state()
    response = await harness.post(batch(harness.agent_id, [1], start))
    assert response.status_code == 409
    assert "enrol again" in response.json()["detail"]
    assert harness.state() == before


async def test_reports_measured_in_the_future_are_rejected(harness: Harness) -> None:
    future = harness.clock.now() + timedelta(minutes=30)
    body = batch(harness.agent_id, [1], future, sent_at=harness.clock.now())
    response = await harness.post(body)
    assert response.status_code == 422
    assert response.json()["field"] == "reports.0.measured_at"
    assert harness.state() == (0, 0)


async def test_repeated_sequence_in_one_batch_is_rejected(harness: Harness) -> None:
    body = batch(harness.agent_id, [1, 1], _start(harness))
    response = await harness.post(body)
    assert response.status_code == 422
    assert harness.state() == (0, 0)


async def test_config_is_served_with_etag_and_304(harness: Harness) -> None:
    url = f"/api/v1/agents/{harness.agent_id}/config"
    first = await harness.client.get(url, headers=harness.auth())
    assert first.status_code == 200
    assert "host" in first.json()["checks"]
    etag = first.headers["ETag"]
    same = await harness.client.get(url, headers={**harness.auth(), "If-None-Match": etag})
    assert same.status_code == 304
    new_config = {
        "heartbeat_seconds": 20,
        "checks": {"host": {"check": "host", "interval_seconds": 30}},
    }
    put = await harness.client.put(
        url, json=new_config, headers={"Authorization": "Bearer admin-secret"}
    )
    assert put.status_code == 200, put.text
    changed = await harness.client.get(url, headers={**harness.auth(), "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.json()["heartbeat_seconds"] == 20


@pytest.mark.parametrize(
    ("config", "field_part"),
    [
        ({"checks": {"x": {"check": "no_such_check"}}}, "unknown check"),
        ({"checks": {"host": {"check": "host", "interval_seconds": 0}}}, "interval_seconds"),
        ({"heartbeat_seconds": "often"}, "heartbeat_seconds"),
    ],
    ids=["unknown-check", "zero-interval", "wrong-type"],
)
async def test_bad_config_is_rejected_and_previous_stays(
    harness: Harness, config: dict[str, Any], field_part: str
) -> None:
    url = f"/api/v1/agents/{harness.agent_id}/config"
    before = await harness.client.get(url, headers=harness.auth())
    put = await harness.client.put(
        url, json=config, headers={"Authorization": "Bearer admin-secret"}
    )
    assert put.status_code == 422
    assert field_part in put.text
    after = await harness.client.get(url, headers=harness.auth())
    assert after.headers["ETag"] == before.headers["ETag"]


async def test_admin_calls_need_the_admin_token(harness: Harness) -> None:
    url = f"/api/v1/agents/{harness.agent_id}/config"
    response = await harness.client.put(url, json={}, headers=harness.auth())
    assert response.status_code == 401
    listing = await harness.client.get(
        "/api/v1/agents", headers={"Authorization": "Bearer admin-secret"}
    )
    assert [a["agent_id"] for a in listing.json()] == [harness.agent_id]


async def test_agent_cannot_read_another_agents_config(harness: Harness) -> None:
    response = await harness.client.get("/api/v1/agents/ag_other/config", headers=harness.auth())
    assert response.status_code == 403


async def test_health_ready_and_openapi(harness: Harness) -> None:
    assert (await harness.client.get("/healthz")).json() == {"status": "ok"}
    ready = await harness.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["schema"] == head_revision()
    spec = (await harness.client.get("/openapi.json")).json()
    assert "ReportBatch" in spec["components"]["schemas"]
    assert "/api/v1/reports" in spec["paths"]


async def test_openapi_documents_the_ingest_hot_path_with_its_bodies(harness: Harness) -> None:
    # POST /reports is answered before FastAPI's routing (collector/ingest_http.py); the
    # published document must still describe it, or agents' authors and the fuzzer lose it.
    spec = (await harness.client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/reports"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ReportBatch"}
    ack = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ack == {"$ref": "#/components/schemas/Ack"}
    assert set(spec["components"]["schemas"]["Ack"]["properties"]) == set(Ack.model_fields)
    for code in ("400", "401", "403", "408", "409", "413", "415", "422", "429", "503"):
        error = operation["responses"][code]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorBody"}, code


async def test_hot_path_answers_json_that_browsers_do_not_sniff(harness: Harness) -> None:
    ok = await harness.post(batch(harness.agent_id, [1], _start(harness)))
    refused = await harness.post({"schema_version": 1}, token="agt_wrong")
    for response in (ok, refused):
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert ok.status_code == 200
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
