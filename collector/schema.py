"""Tables of the state store (SQLAlchemy Core); Alembic migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back time-zone aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")

provinces = Table(
    "provinces",
    metadata,
    Column("code", String(2), primary_key=True),
    Column("name", String(100), nullable=False),
)

communes = Table(
    "communes",
    metadata,
    Column("code", String(5), primary_key=True),
    Column("province_code", String(2), ForeignKey("provinces.code"), nullable=False, index=True),
    Column("name", String(150), nullable=False),
    Column("type", String(20), nullable=False),
)

enrol_tokens = Table(
    "enrol_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("commune_code", String(5), ForeignKey("communes.code"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("agent_id", String(32)),
    Column("note", String(200), nullable=False, default=""),
)

agents = Table(
    "agents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("commune_code", String(5), ForeignKey("communes.code"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("hostname", String(200), nullable=False, default=""),
    Column("agent_version", String(50), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    # Highest sequence such that every sequence up to it is stored (or was dropped by the agent).
    Column("acked_seq", BigInteger, nullable=False, default=0),
    # Highest sequence ever stored: when a batch starts above it, no duplicate lookup is needed.
    Column("max_seq", BigInteger, nullable=False, default=0),
    Column("last_seen_at", UtcDateTime),
    Column("last_measured_at", UtcDateTime),
    Column("clock_skew_seconds", Float, nullable=False, default=0.0),
    # When the agent is expected to report: "auto" (a site agent, which polls the commune's
    # network, always; a counter PC in opening hours), "always" or "opening_hours".
    Column("schedule", String(20), nullable=False, default="auto", server_default="auto"),
    # Its goodbye: the measured time and reason (shutdown, reboot, service_stop) of its last clean
    # stop. Silence after a goodbye is an agent switched off, not a fault.
    Column("goodbye_at", UtcDateTime),
    Column("goodbye_reason", String(30)),
    # When its computer last booted (from the agent_started event's uptime).
    Column("booted_at", UtcDateTime),
    # Bumped when an admin moves a device to or from this agent: collectors holding the agent's
    # devices in memory (the budgets' ledger) read them again.
    Column("devices_version", Integer, nullable=False, default=0, server_default="0"),
    # Reports refused past a budget or for a device of another agent: how many, the last one.
    Column("refusals", Integer, nullable=False, default=0, server_default="0"),
    Column("last_refusal_at", UtcDateTime),
    Column("last_refusal", String(500)),
)

journal = Table(
    "journal",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agent_id", String(32), ForeignKey("agents.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    # Agent time corrected by the agent's measured clock skew when that exceeds the tolerance.
    Column("measured_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("samples", Integer, nullable=False),
    # zlib-compressed JSON of agent.wire.Report, exactly as validated.
    Column("payload", LargeBinary, nullable=False),
    UniqueConstraint("agent_id", "seq", name="uq_journal_agent_seq"),
)
Index("ix_journal_received_at", journal.c.received_at)

cursors = Table(
    "cursors",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
    Column("holder", String(100), nullable=False, default=""),
    Column("lease_until", UtcDateTime),
)

device_state = Table(
    "device_state",
    metadata,
    Column("commune_code", String(5), ForeignKey("communes.code"), primary_key=True),
    Column("device_id", String(128), primary_key=True),
    Column("agent_id", String(32), ForeignKey("agents.id"), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("measured_at", UtcDateTime, nullable=False),
    # JSON list of [name, labels, value] from the latest report of this device.
    Column("samples", Text, nullable=False),
    Column("facts", Text, nullable=False, default="{}"),
)

# Which agent a device belongs to: the first that reported it, until an admin moves it
# (``commune-monitor agents move-device``). Ingest claims new devices here in the journal
# transaction and refuses another agent's report of an owned device (409 naming it).
device_owners = Table(
    "device_owners",
    metadata,
    Column("commune_code", String(5), ForeignKey("communes.code"), primary_key=True),
    Column("device_id", String(128), primary_key=True),
    Column("agent_id", String(32), ForeignKey("agents.id"), nullable=False, index=True),
    Column("claimed_at", UtcDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("commune_code", String(5), nullable=False),
    Column("device_id", String(128), nullable=False),
    Column("agent_id", String(32), nullable=False),
    Column("type", String(100), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("attrs", Text, nullable=False, default="{}"),
    Column("measured_at", UtcDateTime, nullable=False),
    Column("journal_id", BigInteger, nullable=False),
    UniqueConstraint("journal_id", "device_id", "type", "message", name="uq_events_origin"),
)
Index("ix_events_device", events.c.commune_code, events.c.device_id, events.c.measured_at)

agent_configs = Table(
    "agent_configs",
    metadata,
    # An agent id, or "*" for the default every agent without its own config gets.
    Column("agent_id", String(32), primary_key=True),
    Column("body", Text, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
)

# Who changed what, from the console, the API or the CLI: one line per change (logins, tickets,
# windows, users, configuration), read by admins.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    # login, login_failed, logout, user_created, ticket_acknowledged, maintenance_created, ...
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)
Index("ix_audit_log_at", audit_log.c.at)
