"""Enrolment tokens, agent identities and their bearer tokens (collector/agents.py), on both
stores: one use per enrolment token, tokens kept only as hashes, revocation and rotation bite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from collector import agents, audit
from collector.errors import AuthError, Conflict, NotFound
from collector.schema import agents as agents_table
from collector.schema import enrol_tokens
from tests.collector.builders import batch
from tests.collector.support import Harness, first_commune, start
from tests.fakes import FakeClock


async def test_rotated_token_replaces_the_old_one(harness: Harness) -> None:
    new = agents.rotate_token(harness.service.engine, harness.agent_id)
    body = batch(harness.agent_id, [1], start(harness))
    assert (await harness.post(body)).status_code == 401
    assert (await harness.post(body, token=new)).status_code == 200


def test_tokens_are_stored_only_as_their_hash(engine: Engine) -> None:
    clock = FakeClock()
    commune = first_commune(engine)
    token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1), "quầy 1")
    enrolment = agents.enrol(engine, token, "quay-1", "1.2", clock.now())
    assert enrolment.agent_token.startswith("agt_")
    assert enrolment.commune_code == commune
    with engine.connect() as conn:
        stored = conn.execute(select(agents_table.c.token_hash)).scalar_one()
        enrol_hash = conn.execute(select(enrol_tokens.c.token_hash)).scalar_one()
    assert stored == agents.hash_token(enrolment.agent_token)
    assert enrol_hash == agents.hash_token(token)
    identity = agents.authenticate(engine, enrolment.agent_token)
    assert (identity.agent_id, identity.commune_code) == (enrolment.agent_id, commune)
    assert identity.token_hash == stored


def test_an_enrolment_token_works_once_and_not_after_it_expired(engine: Engine) -> None:
    clock = FakeClock()
    commune = first_commune(engine)
    token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(minutes=5))
    agents.enrol(engine, token, "a", "1", clock.now())
    with pytest.raises(Conflict, match="already used"):
        agents.enrol(engine, token, "b", "1", clock.now())
    late = agents.create_enrol_token(engine, commune, clock.now(), timedelta(minutes=5))
    clock.advance(300)
    with pytest.raises(AuthError, match="expired"):
        agents.enrol(engine, late, "c", "1", clock.now())
    with pytest.raises(AuthError, match="unknown enrolment token"):
        agents.enrol(engine, "enr_guess", "d", "1", clock.now())
    assert len(agents.list_agents(engine)) == 1


def test_an_enrolment_token_for_an_unknown_commune_is_refused(engine: Engine) -> None:
    with pytest.raises(NotFound, match="'99999' is not in the store"):
        agents.create_enrol_token(engine, "99999", FakeClock().now(), timedelta(hours=1))


def test_revoked_and_rotated_tokens_stop_authenticating(engine: Engine) -> None:
    clock = FakeClock()
    commune = first_commune(engine)
    one = agents.enrol(
        engine,
        agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1)),
        "one",
        "1",
        clock.now(),
    )
    two = agents.enrol(
        engine,
        agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1)),
        "two",
        "1",
        clock.now(),
    )
    agents.revoke(engine, one.agent_id, clock.now(), actor="admin-token")
    with pytest.raises(AuthError, match="revoked"):
        agents.authenticate(engine, one.agent_token)
    new = agents.rotate_token(engine, two.agent_id, clock.now())
    with pytest.raises(AuthError, match="unknown agent token"):
        agents.authenticate(engine, two.agent_token)
    assert agents.authenticate(engine, new).agent_id == two.agent_id
    # A revoked agent gets no new token, and an unknown one is named.
    with pytest.raises(NotFound, match="no active agent"):
        agents.rotate_token(engine, one.agent_id, clock.now())
    with pytest.raises(NotFound, match="no agent 'ag_nobody'"):
        agents.revoke(engine, "ag_nobody", clock.now())
    actions = [(line["actor"], line["action"]) for line in audit.latest(engine)]
    assert ("admin-token", "agent_revoked") in actions
    assert ("system", "agent_token_rotated") in actions
    assert actions.count(("system", "enrol_token_created")) == 2


def test_agents_are_listed_oldest_first_and_by_commune(engine: Engine) -> None:
    clock = FakeClock()
    commune = first_commune(engine)
    made = []
    for host in ("b-host", "a-host"):
        token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1))
        made.append(agents.enrol(engine, token, host, "1", clock.now()).agent_id)
        clock.advance(1)
    listed = agents.list_agents(engine)
    assert [row.agent_id for row in listed] == made
    assert [row.hostname for row in listed] == ["b-host", "a-host"]
    assert listed[0].acked_seq == 0
    assert listed[0].revoked_at is None
    assert agents.list_agents(engine, commune) == listed
    assert agents.list_agents(engine, "00000") == []


def test_the_token_cache_forgets_after_its_ttl_and_when_full(engine: Engine) -> None:
    cache = agents.TokenCache(engine, ttl_seconds=30, max_entries=2)
    one = agents.AgentIdentity("ag_1", "14134", agents.hash_token("agt_one"))
    two = agents.AgentIdentity("ag_2", "14134", agents.hash_token("agt_two"))
    three = agents.AgentIdentity("ag_3", "14134", agents.hash_token("agt_three"))
    assert cache.lookup("agt_one", 0.0) is None
    cache.remember(one, 0.0)
    cache.remember(two, 0.0)
    assert cache.lookup("agt_one", 30.0) == one
    assert cache.lookup("agt_one", 30.5) is None
    cache.remember(three, 31.0)  # full: everything cached is dropped, then this one kept
    assert cache.lookup("agt_two", 31.0) is None
    assert cache.lookup("agt_three", 31.0) == three
