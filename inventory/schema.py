"""Tables of the asset register in the state store (SQLAlchemy Core, migration 0002).

They sit on ``collector.schema.metadata`` so that Alembic sees them beside the collector's tables.
One row of ``inventory_assets`` is one ``inventory.models.Asset``; the revaluation of Art. 18.4 is
flattened into four nullable columns. ``inventory_imports`` keeps who imported what and when, so
every asset row can be traced back to the file it came from.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from collector.schema import BigId, UtcDateTime, metadata

inventory_imports = Table(
    "inventory_imports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("filename", String(255), nullable=False, default=""),
    # SHA-256 of the file as uploaded: the same file imported twice is easy to spot.
    Column("sha256", String(64), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("assets", Integer, nullable=False),
    # "append" adds to the register; "replace" swapped the whole register for the file.
    Column("mode", String(10), nullable=False, default="append"),
)

inventory_assets = Table(
    "inventory_assets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("asset_tag", String(64), nullable=False, unique=True),
    Column("kind", String(30), nullable=False),
    Column("brand", String(200), nullable=False, default=""),
    Column("model", String(200), nullable=False, default=""),
    # NULL = no serial recorded; several NULLs are allowed by a unique constraint on both dialects.
    Column("serial", String(100), unique=True),
    Column("commune_code", String(5), ForeignKey("communes.code"), nullable=False, index=True),
    Column("room", String(200), nullable=False, default=""),
    Column("put_into_use", Date, nullable=False),
    Column("original_cost", BigInteger),
    Column("revaluation_year", Integer),
    Column("revalued_cost", BigInteger),
    Column("revalued_remaining_value", BigInteger),
    Column("revalued_remaining_life", Integer),
    Column("funding_source", String(200), nullable=False, default=""),
    Column("warranty_end", Date),
    Column("status", String(20), nullable=False),
    Column("status_since", Date),
    Column("previous_owner", String(200), nullable=False, default=""),
    Column("asset_class", String(64)),
    Column("years_used_before_purchase", Integer, nullable=False, default=0),
    Column("import_id", BigInteger, ForeignKey("inventory_imports.id"), nullable=False),
)
Index("ix_inventory_assets_kind_status", inventory_assets.c.kind, inventory_assets.c.status)
