"""Central check configuration per agent (or the default "*"), served with an ETag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import Engine, select

from agent.agent_config import AgentConfig, default_agent_config
from collector import audit
from collector.db import upsert
from collector.errors import ConfigError, NotFound
from collector.schema import agent_configs, agents

DEFAULT_KEY = "*"


@dataclass(frozen=True)
class StoredConfig:
    """A configuration as served: canonical JSON body and its ETag."""

    body: str
    etag: str


def _canonical(config: AgentConfig) -> StoredConfig:
    body = config.model_dump_json()
    return StoredConfig(body=body, etag=hashlib.sha256(body.encode()).hexdigest()[:32])


def parse_config(text: str, source: str = "config") -> AgentConfig:
    """Validate a configuration (JSON or YAML text); errors name the field."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML/JSON: {exc}") from None
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None


def effective_config(engine: Engine, agent_id: str) -> StoredConfig:
    """The agent's own configuration, else the default, else the built-in default."""
    with engine.connect() as conn:
        rows: dict[str, str] = dict(
            conn.execute(
                select(agent_configs.c.agent_id, agent_configs.c.body).where(
                    agent_configs.c.agent_id.in_([agent_id, DEFAULT_KEY])
                )
            ).all()
        )
    body = rows.get(agent_id) or rows.get(DEFAULT_KEY)
    if body is None:
        return _canonical(default_agent_config())
    return _canonical(AgentConfig.model_validate_json(body))


def set_config(
    engine: Engine, agent_id: str, config: AgentConfig, now: datetime, *, actor: str = "system"
) -> StoredConfig:
    """Store a validated configuration for ``agent_id`` (or "*" for the default); audited."""
    stored = _canonical(config)
    with engine.begin() as conn:
        if (
            agent_id != DEFAULT_KEY
            and conn.execute(select(agents.c.id).where(agents.c.id == agent_id)).first() is None
        ):
            raise NotFound(f"no agent {agent_id!r}")
        upsert(
            conn,
            agent_configs,
            [
                {
                    "agent_id": agent_id,
                    "body": stored.body,
                    "etag": stored.etag,
                    "updated_at": now,
                    "enabled": True,
                }
            ],
            keys=["agent_id"],
            update=["body", "etag", "updated_at"],
        )
        audit.record(conn, now, actor, "agent_config_set", f"agent:{agent_id}", stored.etag)
    return stored
