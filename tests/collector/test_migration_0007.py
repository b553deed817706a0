"""Migration 0007 on both stores: device owners from the device state, the console's audit lines
kept in the one audit log, the tables as the metadata says, and back down again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from collector import agents
from collector.schema import audit_log, device_owners, metadata
from province import migrate
from tests.agent.support import first_commune

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
WEB_AUDIT = sa.table(
    "web_audit",
    sa.column("at", sa.DateTime),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
    sa.column("detail", sa.Text),
)
STATE = sa.table(
    "device_state",
    sa.column("commune_code", sa.String),
    sa.column("device_id", sa.String),
    sa.column("agent_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("first_seen_at", sa.DateTime),
    sa.column("measured_at", sa.DateTime),
    sa.column("samples", sa.Text),
    sa.column("facts", sa.Text),
)


def _to(engine: Engine, revision: str, up: bool) -> None:
    config = migrate.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.upgrade if up else command.downgrade)(config, revision)
    engine.dispose()


def test_0007_fills_owners_keeps_console_audit_lines_and_downgrades(engine: Engine) -> None:
    commune = first_commune(engine)
    token = agents.create_enrol_token(engine, commune, AT, timedelta(days=3650))
    agent = agents.enrol(engine, token, "pc", "1", AT)
    _to(engine, "0006", up=False)
    stamp = AT.replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            WEB_AUDIT.insert(),
            [
                {
                    "at": stamp,
                    "actor": "admin",
                    "action": "login",
                    "target": "1.2.3.4",
                    "detail": "",
                },
                {
                    "at": stamp,
                    "actor": "admin",
                    "action": "user_created",
                    "target": "x",
                    "detail": "vendor",
                },
            ],
        )
        conn.execute(
            STATE.insert(),
            [
                {
                    "commune_code": commune,
                    "device_id": "pc-1",
                    "agent_id": agent.agent_id,
                    "kind": "pc",
                    "first_seen_at": stamp,
                    "measured_at": stamp,
                    "samples": "[]",
                    "facts": "{}",
                }
            ],
        )
    migrate.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert "web_audit" not in tables
    with engine.connect() as conn:
        owners = conn.execute(select(device_owners)).all()
        lines = conn.execute(select(audit_log.c.actor, audit_log.c.action)).all()
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [(o.commune_code, o.device_id, o.agent_id) for o in owners] == [
        (commune, "pc-1", agent.agent_id)
    ]
    assert ("admin", "login") in lines
    assert ("admin", "user_created") in lines
    mine = ("device_owners", "audit_log", "agents", "web_audit")
    assert [d for d in diff if any(t in str(d) for t in mine)] == []
    _to(engine, "0006", up=False)
    assert {"web_audit", "audit_log"} <= set(inspect(engine).get_table_names())
    assert "device_owners" not in set(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert "device_owners" in set(inspect(engine).get_table_names())
