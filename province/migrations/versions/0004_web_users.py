"""web console: users, sessions, login failures, audit log (issue 10)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collector.schema


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('web_users',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', collector.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_users')),
    sa.UniqueConstraint('username', name=op.f('uq_web_users_username'))
    )
    op.create_table('web_sessions',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', collector.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', collector.schema.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['web_users.id'], name=op.f('fk_web_sessions_user_id_web_users')),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)
    op.create_table('web_login_failures',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', collector.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_login_failures'))
    )
    with op.batch_alter_table('web_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_web_login_failures_username', ['username', 'at'], unique=False)
        batch_op.create_index('ix_web_login_failures_client', ['client', 'at'], unique=False)
    op.create_table('web_audit',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('at', collector.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_audit'))
    )
    with op.batch_alter_table('web_audit', schema=None) as batch_op:
        batch_op.create_index('ix_web_audit_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_web_audit_at')
    op.drop_table('web_audit')
    with op.batch_alter_table('web_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_web_login_failures_client')
        batch_op.drop_index('ix_web_login_failures_username')
    op.drop_table('web_login_failures')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
    op.drop_table('web_users')
