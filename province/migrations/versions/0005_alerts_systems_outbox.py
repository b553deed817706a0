"""alerts: central system of incidents and tickets; outbox rows refer to channels (issue 7)

The outbox stored each message's address (an apprise URL with its bot token, a webhook URL with
its secret path). From this revision a row refers to its channel (``owner`` + ``channel_id`` of
routing.yaml), resolved when it is sent. Rows already sent lose their webhook/apprise address
(``target`` becomes ``redacted:<id>``; e-mail addresses are kept); rows still queued keep theirs
so they are delivered, and the dispatcher clears it once they are. ``urgent`` marks SLA breaches
and escalations, which never wait for a digest.

Downgrade: rows queued as references get ``owner/channel_id`` in ``target``; the older code
cannot deliver them (they stay in its outbox, retried), everything else is kept.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('alert_incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system', sa.String(length=64), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system', sa.String(length=64), nullable=True))
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('owner', sa.String(length=64), nullable=False, server_default='')
        )
        batch_op.add_column(
            sa.Column('channel_id', sa.String(length=40), nullable=False, server_default='')
        )
        batch_op.add_column(
            sa.Column('urgent', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column('target', existing_type=sa.String(length=300), server_default='')
        batch_op.drop_constraint('uq_notification_outbox_once', type_='unique')
        batch_op.create_unique_constraint(
            'uq_notification_outbox_once', ['history_id', 'owner', 'channel_id', 'target']
        )
    # Delivered messages no longer need their address: drop the URLs (tokens) from the history.
    op.execute(
        "UPDATE notification_outbox SET target = 'redacted:' || CAST(id AS VARCHAR(20)) "
        "WHERE sent_at IS NOT NULL AND channel <> 'email'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE notification_outbox SET target = owner || '/' || channel_id WHERE owner <> ''"
    )
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notification_outbox_once', type_='unique')
        batch_op.create_unique_constraint(
            'uq_notification_outbox_once', ['history_id', 'channel', 'target']
        )
        batch_op.alter_column('target', existing_type=sa.String(length=300), server_default=None)
        batch_op.drop_column('urgent')
        batch_op.drop_column('channel_id')
        batch_op.drop_column('owner')
    for table in ('tickets', 'alert_incidents'):
        if op.get_bind().dialect.name == 'sqlite':
            # A batch copy would drop and recreate the table, which the rows referencing it
            # (history, outbox, tickets) forbid while foreign keys are enforced; SQLite >= 3.35
            # drops a plain column in place.
            op.execute(f'ALTER TABLE {table} DROP COLUMN system')
        else:
            op.drop_column(table, 'system')
