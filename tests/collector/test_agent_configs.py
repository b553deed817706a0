"""Central check configuration (collector/agent_configs.py): parsed with the field named, the
agent's own before the default "*" before the built-in one, a stable ETag, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from agent.agent_config import AgentConfig, CheckSpec, default_agent_config
from collector import agent_configs
from collector.errors import ConfigError, NotFound
from collector.schema import audit_log
from tests.collector.support import enrolled
from tests.fakes import FakeClock


def test_a_config_parses_from_yaml_or_json_and_errors_name_the_field() -> None:
    yaml_text = "heartbeat_seconds: 60\nchecks:\n  host: {check: host, interval_seconds: 120}\n"
    json_text = (
        '{"heartbeat_seconds": 60, "checks": {"host": {"check": "host", "interval_seconds": 120}}}'
    )
    assert agent_configs.parse_config(yaml_text) == agent_configs.parse_config(json_text)
    assert agent_configs.parse_config(yaml_text).checks["host"].interval_seconds == 120
    with pytest.raises(ConfigError, match=r"^pc\.yaml: heartbeat_seconds: "):
        agent_configs.parse_config("heartbeat_seconds: 0\n", "pc.yaml")
    with pytest.raises(ConfigError, match=r"checks\.host\.interval_seconds"):
        agent_configs.parse_config("checks: {host: {check: host, interval_seconds: -1}}")
    with pytest.raises(ConfigError, match="not valid YAML/JSON"):
        agent_configs.parse_config("checks: {host: [", "x")
    with pytest.raises(ConfigError, match=r"\(top\)"):
        agent_configs.parse_config("- a list\n")


def test_the_agents_own_config_wins_over_the_default_over_the_built_in(engine: Engine) -> None:
    clock = FakeClock()
    one = enrolled(engine, clock, "one").agent_id
    two = enrolled(engine, clock, "two").agent_id
    built_in = agent_configs.effective_config(engine, one)
    assert AgentConfig.model_validate_json(built_in.body) == default_agent_config()

    default = AgentConfig(heartbeat_seconds=45.0)
    own = AgentConfig(heartbeat_seconds=90.0, checks={"host": CheckSpec(check="host")})
    stored_default = agent_configs.set_config(
        engine, agent_configs.DEFAULT_KEY, default, clock.now()
    )
    stored_own = agent_configs.set_config(engine, one, own, clock.now(), actor="admin-token")
    assert agent_configs.effective_config(engine, one) == stored_own
    assert agent_configs.effective_config(engine, two) == stored_default
    assert len({built_in.etag, stored_default.etag, stored_own.etag}) == 3

    # The ETag is the body's: the same configuration stored again keeps it.
    again = agent_configs.set_config(engine, one, own, clock.now())
    assert again == stored_own
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target, audit_log.c.detail)
            .where(audit_log.c.action == "agent_config_set")
            .order_by(audit_log.c.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("system", "agent_config_set", "agent:*", stored_default.etag),
        ("admin-token", "agent_config_set", f"agent:{one}", stored_own.etag),
        ("system", "agent_config_set", f"agent:{one}", stored_own.etag),
    ]


def test_a_config_for_an_unknown_agent_is_refused_and_nothing_stored(engine: Engine) -> None:
    clock = FakeClock()
    with pytest.raises(NotFound, match="no agent 'ag_nobody'"):
        agent_configs.set_config(engine, "ag_nobody", AgentConfig(), clock.now())
    with engine.connect() as conn:
        assert conn.execute(select(audit_log.c.id)).first() is None
