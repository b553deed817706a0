"""inventory register: the asset register and its import log (issue 8)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:34:54.026225
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collector.schema


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inventory_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', collector.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('assets', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_imports'))
    )
    op.create_table('inventory_assets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('asset_tag', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('brand', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('serial', sa.String(length=100), nullable=True),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('room', sa.String(length=200), nullable=False),
    sa.Column('put_into_use', sa.Date(), nullable=False),
    sa.Column('original_cost', sa.BigInteger(), nullable=True),
    sa.Column('revaluation_year', sa.Integer(), nullable=True),
    sa.Column('revalued_cost', sa.BigInteger(), nullable=True),
    sa.Column('revalued_remaining_value', sa.BigInteger(), nullable=True),
    sa.Column('revalued_remaining_life', sa.Integer(), nullable=True),
    sa.Column('funding_source', sa.String(length=200), nullable=False),
    sa.Column('warranty_end', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_since', sa.Date(), nullable=True),
    sa.Column('previous_owner', sa.String(length=200), nullable=False),
    sa.Column('asset_class', sa.String(length=64), nullable=True),
    sa.Column('years_used_before_purchase', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['commune_code'], ['communes.code'], name=op.f('fk_inventory_assets_commune_code_communes')),
    sa.ForeignKeyConstraint(['import_id'], ['inventory_imports.id'], name=op.f('fk_inventory_assets_import_id_inventory_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_assets')),
    sa.UniqueConstraint('asset_tag', name=op.f('uq_inventory_assets_asset_tag')),
    sa.UniqueConstraint('serial', name=op.f('uq_inventory_assets_serial'))
    )
    with op.batch_alter_table('inventory_assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_assets_commune_code'), ['commune_code'], unique=False)
        batch_op.create_index('ix_inventory_assets_kind_status', ['kind', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inventory_assets', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_assets_kind_status')
        batch_op.drop_index(batch_op.f('ix_inventory_assets_commune_code'))

    op.drop_table('inventory_assets')
    op.drop_table('inventory_imports')
