"""alerts, web: reported tickets, single-use answer links, commune staff accounts (issue 22)

``alert_incidents`` gains ``category``: the report category of a problem people reported
(alerts/categories.yaml), None for what the detectors found. ``ticket_reports`` keeps each
report (who entered it, the reporter's name and phone, the description, whether it joined a
ticket that was already open). ``action_links_used`` holds the id of every signed link used
from a notification (each works once). ``web_user_communes`` gives a console user of role
``commune`` the communes they report for and whose tickets they see.

Downgrade drops the three tables and the column (on SQLite with ``ALTER TABLE … DROP COLUMN``,
SQLite ≥ 3.35, as 0006 does: a batch copy of alert_incidents would break the tickets that
reference it). Users of role ``commune`` stay, without communes: the older code refuses to
show them anything.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collector.schema

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = collector.schema.UtcDateTime


def upgrade() -> None:
    op.add_column("alert_incidents", sa.Column("category", sa.String(length=40), nullable=True))
    op.create_table(
        "ticket_reports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("counter", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("reporter_phone", sa.String(length=20), nullable=False),
        sa.Column("attached", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["alert_incidents.id"],
            name=op.f("fk_ticket_reports_incident_id_alert_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_reports")),
    )
    with op.batch_alter_table("ticket_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_reports_incident_id"), ["incident_id"], unique=False
        )
    op.create_table(
        "action_links_used",
        sa.Column("link_id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=110), nullable=False),
        sa.Column("used_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_action_links_used_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_action_links_used")),
    )
    with op.batch_alter_table("action_links_used", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_links_used_ticket_id"), ["ticket_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_action_links_used_used_at"), ["used_at"], unique=False)
    op.create_table(
        "web_user_communes",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_code"],
            ["communes.code"],
            name=op.f("fk_web_user_communes_commune_code_communes"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name=op.f("fk_web_user_communes_user_id_web_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "commune_code", name=op.f("pk_web_user_communes")),
    )


def downgrade() -> None:
    op.drop_table("web_user_communes")
    with op.batch_alter_table("action_links_used", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_links_used_used_at"))
        batch_op.drop_index(batch_op.f("ix_action_links_used_ticket_id"))
    op.drop_table("action_links_used")
    with op.batch_alter_table("ticket_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_reports_incident_id"))
    op.drop_table("ticket_reports")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE alert_incidents DROP COLUMN category")
    else:
        op.drop_column("alert_incidents", "category")
