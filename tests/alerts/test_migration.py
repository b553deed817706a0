"""Migrations 0003, 0005 and 0008 create the alerting tables, match the metadata, and downgrade."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import alerts.schema
import inventory.schema  # noqa: F401 - registers the register's tables on the metadata
from alerts.notify import Dispatcher, WebhookNotifier
from alerts.routing import parse_routing
from collector.schema import UtcDateTime, metadata
from province import migrate
from tests.alerts.receivers import WebhookServer
from tests.alerts.support import World, pc
from tests.services import free_port

TABLES = {
    "alert_incidents",
    "alert_members",
    "alert_rule_state",
    "tickets",
    "ticket_history",
    "notification_outbox",
    # 0008 (issue 22): people's reports and the used answer links.
    "ticket_reports",
    "action_links_used",
}
# The outbox as migration 0004 left it: rows held their literal address.
LEGACY_OUTBOX = sa.table(
    "notification_outbox",
    sa.column("id", sa.Integer),
    sa.column("ticket_id", sa.Integer),
    sa.column("history_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("target", sa.String),
    sa.column("subject", sa.Text),
    sa.column("body", sa.Text),
    sa.column("created_at", UtcDateTime),
    sa.column("attempts", sa.Integer),
    sa.column("next_attempt_at", UtcDateTime),
    sa.column("sent_at", UtcDateTime),
    sa.column("last_error", sa.Text),
)
TOKEN = "tgram://123456789:SECRETtokenABCDEF/-1001"


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    server = WebhookServer(free_port())
    server.start()
    yield server
    server.stop()


def _downgrade(engine: Engine, revision: str) -> None:
    config = migrate.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    engine.dispose()


def test_upgrade_matches_metadata_and_downgrades(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if any(t in str(d) for t in TABLES)] == []
    _downgrade(engine, "0002")
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    engine.dispose()
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_0005_keeps_queued_messages_and_drops_delivered_urls(
    engine: Engine, receiver: WebhookServer
) -> None:
    routing = parse_routing(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT
    channels: [{{type: webhook, to: "{receiver.url}"}}]
    sla: {{respond: 1h, resolve: 1d}}
"""
    )
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    with httpx.Client(timeout=5.0) as client:
        notifiers = {"webhook": WebhookNotifier(client)}
        assert Dispatcher(engine, world.clock, notifiers, routing=routing).deliver_due().sent == 1

        _downgrade(engine, "0004")
        columns = {c["name"] for c in inspect(engine).get_columns("notification_outbox")}
        assert {"owner", "channel_id", "urgent"}.isdisjoint(columns)
        assert "system" not in {c["name"] for c in inspect(engine).get_columns("tickets")}
        now = world.clock.now()
        legacy = {
            "ticket_id": 1,
            "history_id": 1,
            "subject": "s",
            "body": '{"event": "opened"}',
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
        }
        with engine.begin() as conn:
            (downgraded,) = conn.execute(sa.select(LEGACY_OUTBOX.c.target)).scalars()
            assert downgraded == "team/webhook"  # a reference, shown as such to the old code
            conn.execute(
                LEGACY_OUTBOX.insert(),
                [
                    {**legacy, "channel": "apprise", "target": TOKEN, "sent_at": now},
                    {**legacy, "channel": "email", "target": "a@example.vn", "sent_at": now},
                    {**legacy, "channel": "webhook", "target": receiver.url, "sent_at": None},
                ],
            )
        migrate.upgrade(engine)
        engine.dispose()
        with engine.connect() as conn:
            rows = {
                row.channel + ("-queued" if row.sent_at is None else ""): row
                for row in conn.execute(sa.select(alerts.schema.outbox)).all()
                if row.id > 1
            }
        assert rows["apprise"].target == f"redacted:{rows['apprise'].id}"  # the token is gone
        assert rows["email"].target == "a@example.vn"
        assert rows["webhook-queued"].target == receiver.url  # still needed to deliver it
        assert {(r.owner, r.channel_id, r.urgent) for r in rows.values()} == {("", "", False)}

        # The queued message is delivered to its recorded address, which is then dropped.
        assert Dispatcher(engine, world.clock, notifiers, routing=routing).deliver_due().sent == 1
    assert len(receiver.received) == 2
    with engine.connect() as conn:
        targets = set(conn.execute(sa.select(alerts.schema.outbox.c.target)).scalars())
    assert TOKEN not in targets
    assert receiver.url not in targets


def test_0008_adds_reports_and_links_and_downgrades_keeping_tickets(engine: Engine) -> None:
    from alerts.intake import ReportIn, report_problem

    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    report = ReportIn(
        commune_code=commune,
        category="slow",
        description="Mở hồ sơ rất chậm",
        reporter_name="Đỗ Minh",
        reporter_phone="0912345678",
    )
    report_problem(engine, world.alerts.desk, report, "dost", "api", world.clock.now())
    _downgrade(engine, "0007")
    tables = set(inspect(engine).get_table_names())
    assert {"ticket_reports", "action_links_used", "web_user_communes"}.isdisjoint(tables)
    assert "category" not in {c["name"] for c in inspect(engine).get_columns("alert_incidents")}
    with engine.connect() as conn:
        kept = conn.execute(sa.select(sa.func.count()).select_from(sa.table("tickets")))
        assert kept.scalar() == 2  # the detector's ticket and the reported one
    migrate.upgrade(engine)
    engine.dispose()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if any(t in str(d) for t in TABLES | {"web_user_communes"})] == []
    assert "category" in {c["name"] for c in inspect(engine).get_columns("alert_incidents")}
