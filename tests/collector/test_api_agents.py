"""The agents' routes (collector/api_agents.py): enrolment, each agent's configuration with its
ETag, and the admin's list, detail and revocation, in process on both stores."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from collector import agents
from tests.collector.builders import batch
from tests.collector.support import Harness, first_commune, start

ADMIN = {"Authorization": "Bearer admin-secret"}


async def test_enrolment_token_works_once(harness: Harness) -> None:
    engine = harness.service.engine
    token = agents.create_enrol_token(
        engine, first_commune(engine), harness.clock.now(), timedelta(hours=1)
    )
    first = await harness.client.post("/api/v1/enrol", json={"token": token})
    second = await harness.client.post("/api/v1/enrol", json={"token": token})
    assert first.status_code == 201
    assert second.status_code == 409
    assert len(agents.list_agents(engine)) == 2


async def test_expired_and_unknown_enrolment_tokens_are_401(harness: Harness) -> None:
    engine = harness.service.engine
    token = agents.create_enrol_token(
        engine, first_commune(engine), harness.clock.now(), timedelta(minutes=5)
    )
    harness.clock.advance(600)
    expired = await harness.client.post("/api/v1/enrol", json={"token": token})
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    unknown = await harness.client.post("/api/v1/enrol", json={"token": "enr_nope-nope"})
    assert unknown.status_code == 401


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


async def test_the_default_config_applies_until_an_agent_has_its_own(harness: Harness) -> None:
    url = f"/api/v1/agents/{harness.agent_id}/config"
    default = {"heartbeat_seconds": 45, "checks": {"host": {"check": "host"}}}
    put = await harness.client.put("/api/v1/agents/*/config", json=default, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert (await harness.client.get(url, headers=harness.auth())).json()["heartbeat_seconds"] == 45
    own = {"heartbeat_seconds": 30, "checks": {"host": {"check": "host"}}}
    assert (await harness.client.put(url, json=own, headers=ADMIN)).status_code == 200
    assert (await harness.client.get(url, headers=harness.auth())).json()["heartbeat_seconds"] == 30
    missing = await harness.client.put("/api/v1/agents/ag_nobody/config", json=own, headers=ADMIN)
    assert missing.status_code == 404


async def test_an_agents_detail_shows_its_use_of_the_budgets(harness: Harness) -> None:
    posted = await harness.post(batch(harness.agent_id, [1], start(harness)))
    assert posted.status_code == 200, posted.text
    assert harness.service.processor.drain() == 1
    detail = await harness.client.get(f"/api/v1/agents/{harness.agent_id}", headers=ADMIN)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["agent_id"] == harness.agent_id
    assert body["acked_seq"] == 1
    assert body["devices"] == {
        "used": 1,
        "budget": harness.service.settings.budgets.devices_per_agent,
    }
    assert body["series"]["used"] > body["sample_names"]["used"] > 0
    missing = await harness.client.get("/api/v1/agents/ag_nobody", headers=ADMIN)
    assert missing.status_code == 404
    filtered = await harness.client.get("/api/v1/agents?commune_code=00000", headers=ADMIN)
    assert filtered.json() == []


async def test_revoking_through_the_api_stops_the_agent_at_once(harness: Harness) -> None:
    revoked = await harness.client.post(f"/api/v1/agents/{harness.agent_id}/revoke", headers=ADMIN)
    assert revoked.status_code == 204
    refused = await harness.post(batch(harness.agent_id, [1], start(harness)))
    assert refused.status_code == 401
    listed = (await harness.client.get("/api/v1/agents", headers=ADMIN)).json()
    assert [(a["agent_id"], a["revoked"]) for a in listed] == [(harness.agent_id, True)]
    unknown = await harness.client.post("/api/v1/agents/ag_nobody/revoke", headers=ADMIN)
    assert unknown.status_code == 404
