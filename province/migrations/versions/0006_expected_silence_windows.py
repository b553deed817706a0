"""alerts: agents' schedule and goodbye, maintenance windows, SLA pauses, flapping throttle (issue 19)

Agents gain ``schedule`` (auto, always, opening_hours), ``goodbye_at``/``goodbye_reason`` (their
last clean stop) and ``booted_at``. Incidents gain ``window_id`` (raised inside a maintenance
window or silence: no ticket while covered); tickets gain ``sla_paused_since`` and
``throttled_since``. New tables ``alert_windows`` and ``audit_log``.

Downgrade drops them; windows are lost, nothing else.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collector.schema

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('schedule', sa.String(length=20), nullable=False, server_default='auto')
        )
        batch_op.add_column(
            sa.Column('goodbye_at', collector.schema.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('goodbye_reason', sa.String(length=30), nullable=True))
        batch_op.add_column(
            sa.Column('booted_at', collector.schema.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('alert_incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_id', BigId, nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'sla_paused_since', collector.schema.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column('throttled_since', collector.schema.UtcDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        'alert_windows',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=100), nullable=False),
        sa.Column('created_at', collector.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('starts_at', collector.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', collector.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('recurrence', sa.String(length=10), nullable=False),
        sa.Column('weekdays', sa.String(length=20), nullable=False),
        sa.Column('local_start', sa.String(length=5), nullable=False),
        sa.Column('duration_minutes', sa.Integer(), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('cancelled_at', collector.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column('cancelled_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_windows')),
    )
    with op.batch_alter_table('alert_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_windows_ends_at'), ['ends_at'], unique=False)
    op.create_table(
        'audit_log',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('at', collector.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_at')
    op.drop_table('audit_log')
    with op.batch_alter_table('alert_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_windows_ends_at'))
    op.drop_table('alert_windows')
    for table, columns in (
        ('tickets', ('throttled_since', 'sla_paused_since')),
        ('alert_incidents', ('window_id',)),
        ('agents', ('booted_at', 'goodbye_reason', 'goodbye_at', 'schedule')),
    ):
        for column in columns:
            if op.get_bind().dialect.name == 'sqlite':
                # A batch copy would drop and recreate the table, which the rows referencing it
                # forbid while foreign keys are enforced; SQLite >= 3.35 drops a plain column in
                # place.
                op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
            else:
                op.drop_column(table, column)
