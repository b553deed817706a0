"""Tables of the web console (on the collector's metadata): users, their communes, sessions, login
failures.

The console's audit lines go to the collector's one ``audit_log`` (``collector.audit``).

Passwords are stored only as argon2id hashes; session tokens only as SHA-256 digests, so a copy
of the database lets nobody log in.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table

from collector.schema import BigId, UtcDateTime, metadata
from collector.schema import audit_log as audit

users = Table(
    "web_users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    # admin, dost, vendor, finance, commune (web.accounts.Role)
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

# The communes a user of role ``commune`` (commune staff, issue 22) reports for and whose tickets
# they see; other roles have none.
user_communes = Table(
    "web_user_communes",
    metadata,
    Column("user_id", BigId, ForeignKey("web_users.id"), primary_key=True),
    Column("commune_code", String(5), ForeignKey("communes.code"), primary_key=True),
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

# The console's audit lines are the collector's one audit log (API, CLI and console), which
# migration 0007 filled with the former web_audit table's lines: ``audit`` names it here.
__all__ = ["audit", "login_failures", "sessions", "user_communes", "users"]
