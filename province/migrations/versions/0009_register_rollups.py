"""inventory: daily rollups of saturation and failures per device (issue 22)

``inventory_rollups``: one row per device and Vietnam calendar day, upserted by the journal
processor (inventory.rollups) and kept a year, so that the upgrade plan and the ranking read
rollups instead of scanning the journal. A migration cannot compute them from a journal that has
been pruned: after upgrading, ``commune-monitor inventory rollups rebuild`` fills them from what
the journal (saturation) and the events table (failures) still hold.

Downgrade drops the table; the rollups are lost, nothing else.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inventory_rollups",
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("cpu_hist", sa.LargeBinary(), nullable=True),
        sa.Column("memory_hist", sa.LargeBinary(), nullable=True),
        sa.Column("disk_used_percent", sa.Float(), nullable=True),
        sa.Column("disk_epoch", sa.Float(), nullable=True),
        sa.Column("smart_warnings", sa.Integer(), nullable=True),
        sa.Column("smart_epoch", sa.Float(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failure_types", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "day", "commune_code", name="pk_inventory_rollups"),
    )
    op.create_index("ix_inventory_rollups_day", "inventory_rollups", ["day"], unique=False)
    op.create_index(
        "ix_inventory_rollups_failures", "inventory_rollups", ["failures", "day"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inventory_rollups_failures", table_name="inventory_rollups")
    op.drop_index("ix_inventory_rollups_day", table_name="inventory_rollups")
    op.drop_table("inventory_rollups")
