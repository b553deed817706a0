"""collector: device owners, agents' refusals and devices version; one audit log (issue 20)

``device_owners`` records which agent a device belongs to (the first that reported it; an admin
moves it with ``commune-monitor agents move-device``); filled here from ``device_state``, whose
``agent_id`` was the last agent to report the device. Agents gain ``devices_version`` (bumped by a
move, so collectors re-read their devices) and the count and text of their last refused report
(past a budget, or a device of another agent).

The console's ``web_audit`` lines are copied into ``audit_log`` (the one log the API, the CLI and
the console write now, in time order) and the table is dropped.

Downgrade recreates ``web_audit`` empty (the lines stay in ``audit_log``) and drops the rest.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collector.schema

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "device_owners",
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", collector.schema.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_device_owners_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["commune_code"],
            ["communes.code"],
            name=op.f("fk_device_owners_commune_code_communes"),
        ),
        sa.PrimaryKeyConstraint("commune_code", "device_id", name=op.f("pk_device_owners")),
    )
    with op.batch_alter_table("device_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_owners_agent_id"), ["agent_id"], unique=False)
    op.execute(
        "INSERT INTO device_owners (commune_code, device_id, agent_id, claimed_at) "
        "SELECT commune_code, device_id, agent_id, first_seen_at FROM device_state"
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("devices_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("refusals", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("last_refusal_at", collector.schema.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_refusal", sa.String(length=500), nullable=True))
    # One audit log: the console's lines join the API's and the CLI's, in time order.
    op.execute(
        "INSERT INTO audit_log (at, actor, action, target, detail) "
        "SELECT at, actor, action, target, detail FROM web_audit ORDER BY at, id"
    )
    with op.batch_alter_table("web_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_web_audit_at")
    op.drop_table("web_audit")


def downgrade() -> None:
    op.create_table(
        "web_audit",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", collector.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_audit")),
    )
    with op.batch_alter_table("web_audit", schema=None) as batch_op:
        batch_op.create_index("ix_web_audit_at", ["at"], unique=False)
    for column in ("last_refusal", "last_refusal_at", "refusals", "devices_version"):
        if op.get_bind().dialect.name == "sqlite":
            # As in 0006: a batch copy of agents would break the rows referencing it.
            op.execute(f"ALTER TABLE agents DROP COLUMN {column}")
        else:
            op.drop_column("agents", column)
    with op.batch_alter_table("device_owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_owners_agent_id"))
    op.drop_table("device_owners")
