"""Tables of the asset register in the state store (SQLAlchemy Core, migrations 0002 and 0009).

They sit on ``collector.schema.metadata`` so that Alembic sees them beside the collector's tables.
One row of ``inventory_assets`` is one ``inventory.models.Asset``; the revaluation of Art. 18.4 is
flattened into four nullable columns. ``inventory_imports`` keeps who imported what and when, so
every asset row can be traced back to the file it came from. ``inventory_rollups`` holds what
the processor measured of each device each day (``inventory.rollups``), for the priority score.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
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

# One row per device and Vietnam calendar day (migration 0009), upserted by the journal processor
# (inventory.rollups.RollupConsumer) and kept a year, beyond the journal's pruning. Keyed by the
# device, not the asset: the register can change, what was measured stays.
inventory_rollups = Table(
    "inventory_rollups",
    metadata,
    Column("device_id", String(128), nullable=False),
    Column("day", Date, nullable=False),
    Column("commune_code", String(5), nullable=False),
    # Reports that carried the device that day: which of two rollups of a day is more complete.
    Column("reports", Integer, nullable=False, default=0),
    # Counts of the day's samples per whole percent (inventory.rollups.encode_histogram), so that
    # a p95 over any span of days is exact to the percent.
    Column("cpu_hist", LargeBinary),
    Column("memory_hist", LargeBinary),
    # The fullest volume and the disks warning SMART in the day's newest report carrying them.
    # Their times are Unix seconds (floats): the plan reads ~100,000 rows, and parsing SQLite's
    # datetime strings would cost more than the rest of that read.
    Column("disk_used_percent", Float),
    Column("disk_epoch", Float),
    Column("smart_warnings", Integer),
    Column("smart_epoch", Float),
    # Distinct types of the day's critical events (JSON list), and how many: a fault repeating
    # all day is one failure.
    Column("failures", Integer, nullable=False, default=0),
    Column("failure_types", Text, nullable=False, default="[]"),
    # Device first: the processor looks up the rows of the devices in its batch.
    PrimaryKeyConstraint("device_id", "day", "commune_code", name="pk_inventory_rollups"),
)
Index("ix_inventory_rollups_day", inventory_rollups.c.day)
# Only days with failures are read for the 12-month count.
Index("ix_inventory_rollups_failures", inventory_rollups.c.failures, inventory_rollups.c.day)
