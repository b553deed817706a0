"""Tables of the web console (on the collector's metadata): users, sessions, login failures, audit.

Passwords are stored only as argon2id hashes; session tokens only as SHA-256 digests, so a copy
of the database lets nobody log in.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text

from collector.schema import BigId, UtcDateTime, metadata

users = Table(
    "web_users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    # admin, dost, vendor, finance (web.roles.Role)
    Column("role", String(20), nullable=False),
    # For vendor technicians: the routing owner id whose tickets they may see and act on.
    Column("owner", String(64)),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", BigId, ForeignKey("web_users.id"), nullable=False, index=True),
    # Per-session CSRF token, rendered into every form and checked on every POST.
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

login_failures = Table(
    "web_login_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_web_login_failures_username", login_failures.c.username, login_failures.c.at)
Index("ix_web_login_failures_client", login_failures.c.client, login_failures.c.at)

audit = Table(
    "web_audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    # login, login_failed, logout, user_created, ticket_acknowledged, ticket_commented, ...
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)
Index("ix_web_audit_at", audit.c.at)
