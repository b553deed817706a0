"""Console accounts: users and roles, argon2id passwords, sessions, login rate limit, audit log.

Every function takes the engine and the time (``now``) so that tests drive expiry and the rate
limit window with a fake clock.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from web.errors import AccountError, LoginRefused, TooManyAttempts

__all__ = ["AccountError", "Role", "Session", "User"]
from web.schema import audit, login_failures, sessions, users

# argon2-cffi's defaults follow RFC 9106's second recommended profile (argon2id, 64 MiB, t=3).
_HASHER = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=12)
# Five wrong passwords for one account, or twenty from one address, in fifteen minutes.
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20


class Role(StrEnum):
    """What a console user is: each sees only the pages of their job."""

    ADMIN = "admin"
    DOST = "dost"  # Sở KH&CN viewer: overview, communes, tickets (read only), fleet
    VENDOR = "vendor"  # technician of one contract: that owner's tickets only
    FINANCE = "finance"  # Sở Tài chính: register and budget plan


@dataclass(frozen=True, slots=True)
class User:
    """A console user as the pages see it."""

    id: int
    username: str
    display_name: str
    role: Role
    owner: str | None

    @property
    def ticket_scope(self) -> str | None:
        """The owner whose tickets this user is limited to (None: all tickets)."""
        return self.owner if self.role is Role.VENDOR else None


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: its user and the CSRF token its forms carry."""

    user: User
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted, parameters inside the string)."""
    return _HASHER.hash(password)


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: Role,
    now: datetime,
    *,
    owner: str | None = None,
    display_name: str = "",
    known_owners: frozenset[str] | None = None,
    actor: str = "system",
) -> User:
    """Store a new user; refuses a bad name, a short password or a vendor without a contract."""
    if not USERNAME.match(username):
        raise AccountError(
            "username",
            f"{username!r} must be 2-64 characters: lower-case letters, digits, '.', '_', '-'",
        )
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"must have at least {MIN_PASSWORD} characters")
    if role is Role.VENDOR:
        if not owner:
            raise AccountError("owner", "a vendor user needs the owner id of its contract")
        if known_owners is not None and owner not in known_owners:
            allowed = ", ".join(sorted(known_owners))
            raise AccountError("owner", f"{owner!r} is not an owner in routing.yaml ({allowed})")
    elif owner:
        raise AccountError("owner", "only vendor users have an owner")
    values = {
        "username": username,
        "display_name": display_name or username,
        "role": role.value,
        "owner": owner if role is Role.VENDOR else None,
        "password_hash": hash_password(password),
        "created_at": now,
        "disabled": False,
    }
    try:
        with engine.begin() as conn:
            user_id = conn.execute(insert(users).values(values)).inserted_primary_key
            record(
                conn=conn,
                at=now,
                actor=actor,
                action="user_created",
                target=username,
                detail=role.value,
            )
    except IntegrityError as exc:
        raise AccountError("username", f"{username!r} already exists") from exc
    assert user_id is not None
    return User(
        int(user_id[0]),
        username,
        display_name or username,
        role,
        owner if role is Role.VENDOR else None,
    )


def _user(row: Any) -> User:
    return User(int(row.id), row.username, row.display_name, Role(row.role), row.owner)


def list_users(engine: Engine) -> list[User]:
    """Every user, by name."""
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def disabled_usernames(engine: Engine) -> frozenset[str]:
    """The names of users who may no longer log in."""
    with engine.connect() as conn:
        return frozenset(
            conn.execute(select(users.c.username).where(users.c.disabled.is_(True))).scalars()
        )


def disable_user(engine: Engine, username: str, actor: str, now: datetime) -> None:
    """Stop a user from logging in and end their sessions at once."""
    with engine.begin() as conn:
        user_id = conn.execute(
            select(users.c.id).where(users.c.username == username)
        ).scalar_one_or_none()
        if user_id is None:
            raise AccountError("username", f"{username!r} does not exist")
        conn.execute(update(users).where(users.c.id == user_id).values(disabled=True))
        conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        record(conn=conn, at=now, actor=actor, action="user_disabled", target=username)


def _recent_failures(engine: Engine, username: str, client: str, now: datetime) -> tuple[int, int]:
    since = now - FAILURE_WINDOW
    with engine.connect() as conn:
        per_user = conn.execute(
            select(func.count()).where(
                login_failures.c.username == username, login_failures.c.at > since
            )
        ).scalar_one()
        per_client = conn.execute(
            select(func.count()).where(
                login_failures.c.client == client, login_failures.c.at > since
            )
        ).scalar_one()
    return int(per_user), int(per_client)


def login(engine: Engine, username: str, password: str, client: str, now: datetime) -> str:
    """Check the password and open a session; returns the session token (the cookie's value).

    Raises ``TooManyAttempts`` before even checking the password once the window's failures are
    spent, so guessing stays slow whatever the guesses are.
    """
    username = username.strip().lower()[:64]
    client = client[:64]
    per_user, per_client = _recent_failures(engine, username, client, now)
    if per_user >= MAX_FAILURES_PER_USER or per_client >= MAX_FAILURES_PER_CLIENT:
        raise TooManyAttempts(int(FAILURE_WINDOW.total_seconds() // 60))
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    ok = False
    if row is not None and not row.disabled:
        try:
            ok = _HASHER.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok:
        with engine.begin() as conn:
            conn.execute(insert(login_failures).values(username=username, client=client, at=now))
            record(conn=conn, at=now, actor=username, action="login_failed", target=client)
        raise LoginRefused()
    assert row is not None
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if _HASHER.check_needs_rehash(row.password_hash):
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=hash_password(password))
            )
        conn.execute(
            insert(sessions).values(
                token_sha256=_digest(token),
                user_id=row.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))
        record(conn=conn, at=now, actor=username, action="login", target=client)
    return token


def session_for(engine: Engine, token: str | None, now: datetime) -> Session | None:
    """The live session of a cookie value, or None (unknown, expired, or user disabled)."""
    if not token:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(users, sessions.c.csrf_token, sessions.c.expires_at)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_sha256 == _digest(token))
        ).first()
    if row is None or row.expires_at <= now or row.disabled:
        return None
    return Session(_user(row), row.csrf_token)


def logout(engine: Engine, token: str, actor: str, now: datetime) -> None:
    """End a session."""
    with engine.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.token_sha256 == _digest(token)))
        record(conn=conn, at=now, actor=actor, action="logout")


def record(
    *,
    conn: Connection,
    at: datetime,
    actor: str,
    action: str,
    target: str = "",
    detail: str = "",
) -> None:
    """Append one line to the audit log, inside the caller's transaction (``conn``)."""
    conn.execute(
        insert(audit).values(
            at=at, actor=actor[:64], action=action, target=target[:200], detail=detail
        )
    )


def audit_log(engine: Engine, limit: int = 200) -> list[dict[str, object]]:
    """The latest audit lines, newest first."""
    with engine.connect() as conn:
        return [
            dict(row._mapping)
            for row in conn.execute(select(audit).order_by(audit.c.id.desc()).limit(limit))
        ]


def write_audit(
    engine: Engine, at: datetime, actor: str, action: str, target: str = "", detail: str = ""
) -> None:
    """Append one line to the audit log in its own transaction."""
    with engine.begin() as conn:
        record(conn=conn, at=at, actor=actor, action=action, target=target, detail=detail)


# One account per role for ``commune-monitor demo`` (issue 10: "the demo creates one of each").
DEMO_USERS: tuple[tuple[str, Role, str | None], ...] = (
    ("admin", Role.ADMIN, None),
    ("dost", Role.DOST, None),
    ("isp-tech", Role.VENDOR, "isp"),
    ("finance", Role.FINANCE, None),
)


def create_demo_users(engine: Engine, now: datetime) -> list[tuple[User, str]]:
    """Create the demo's users with fresh random passwords; returns each user and its password."""
    made = []
    for username, role, owner in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        made.append((create_user(engine, username, password, role, now, owner=owner), password))
    return made
