"""Console accounts: users and roles, argon2id password hashes, sessions, audit lines.

Commune staff (role ``commune``, issue 22) are scoped to their communes (``web_user_communes``):
they report problems for those communes and see those communes' tickets only.

Logging in (the attempt limits, the bounded password checks) is ``web.login``'s. Every function
takes the engine and the time (``now``) so that tests drive expiry with a fake clock.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from collector import audit
from collector.schema import communes as commune_rows
from web.errors import AccountError
from web.schema import sessions, user_communes, users

__all__ = ["AccountError", "Role", "Session", "User"]

# argon2-cffi's defaults follow RFC 9106's second recommended profile (argon2id, 64 MiB, t=3).
_HASHER = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=12)


class Role(StrEnum):
    """What a console user is: each sees only the pages of their job."""

    ADMIN = "admin"
    DOST = "dost"  # Sở KH&CN viewer: overview, communes, tickets (read only), fleet
    VENDOR = "vendor"  # technician of one contract: that owner's tickets only
    FINANCE = "finance"  # Sở Tài chính: register and budget plan
    COMMUNE = "commune"  # commune staff: report problems, their communes' tickets (issue 22)


@dataclass(frozen=True, slots=True)
class User:
    """A console user as the pages see it."""

    id: int
    username: str
    display_name: str
    role: Role
    owner: str | None
    # The communes of a commune user (sorted codes); empty for the other roles.
    communes: tuple[str, ...] = ()

    @property
    def ticket_scope(self) -> str | None:
        """The owner whose tickets this user is limited to (None: all tickets)."""
        return self.owner if self.role is Role.VENDOR else None

    @property
    def commune_scope(self) -> frozenset[str] | None:
        """The communes whose tickets this user sees and reports for (None: every commune)."""
        return frozenset(self.communes) if self.role is Role.COMMUNE else None


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
    communes: Collection[str] = (),
) -> User:
    """Store a new user; refuses a bad name, a short password, a vendor without a contract or a
    commune user without communes of this collector."""
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
    codes = _commune_codes(role, communes)
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
            _check_communes(conn, codes)
            user_id = conn.execute(insert(users).values(values)).inserted_primary_key
            assert user_id is not None
            if codes:
                conn.execute(
                    insert(user_communes),
                    [{"user_id": int(user_id[0]), "commune_code": code} for code in codes],
                )
            record(
                conn=conn,
                at=now,
                actor=actor,
                action="user_created",
                target=username,
                detail=role.value + (f" {','.join(codes)}" if codes else ""),
            )
    except IntegrityError as exc:
        raise AccountError("username", f"{username!r} already exists") from exc
    return User(
        int(user_id[0]),
        username,
        display_name or username,
        role,
        owner if role is Role.VENDOR else None,
        codes,
    )


# A commune user's communes: at most this many (a commune officer covers a few at most).
MAX_COMMUNES = 50
_CODE = re.compile(r"^[0-9]{5}$")


def parse_communes(text: str) -> tuple[str, ...]:
    """Commune codes typed in a form or on a command line: separated by commas or spaces."""
    return tuple(part for part in re.split(r"[\s,;]+", text) if part)


def _commune_codes(role: Role, communes: Collection[str]) -> tuple[str, ...]:
    """The communes of a new user, checked for their form: a commune user needs some, others
    none."""
    codes = tuple(sorted({code.strip() for code in communes if code.strip()}))
    if role is not Role.COMMUNE:
        if codes:
            raise AccountError("communes", "only commune users have communes")
        return ()
    if not codes:
        raise AccountError("communes", "a commune user needs the code of at least one commune")
    if len(codes) > MAX_COMMUNES:
        raise AccountError("communes", f"{len(codes)} communes; at most {MAX_COMMUNES}")
    bad = [code for code in codes if not _CODE.match(code)]
    if bad:
        raise AccountError("communes", f"{bad[0][:20]!r} is not a commune code (5 digits)")
    return codes


def _check_communes(conn: Connection, codes: Sequence[str]) -> None:
    if not codes:
        return
    known = set(
        conn.execute(select(commune_rows.c.code).where(commune_rows.c.code.in_(codes))).scalars()
    )
    missing = [code for code in codes if code not in known]
    if missing:
        raise AccountError(
            "communes", f"{', '.join(missing)}: not a commune of this collector (communes load)"
        )


def _user(row: Any, communes: Sequence[str] = ()) -> User:
    return User(
        int(row.id), row.username, row.display_name, Role(row.role), row.owner, tuple(communes)
    )


def _communes_of(conn: Connection, user_ids: Collection[int]) -> dict[int, list[str]]:
    """The communes of each of ``user_ids`` that has some."""
    out: dict[int, list[str]] = {}
    if not user_ids:
        return out
    for user_id, code in conn.execute(
        select(user_communes.c.user_id, user_communes.c.commune_code)
        .where(user_communes.c.user_id.in_(sorted(user_ids)))
        .order_by(user_communes.c.commune_code)
    ):
        out.setdefault(int(user_id), []).append(str(code))
    return out


def list_users(engine: Engine) -> list[User]:
    """Every user, by name, with their communes."""
    with engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).all()
        scoped = _communes_of(conn, [int(r.id) for r in rows if r.role == Role.COMMUNE.value])
    return [_user(r, scoped.get(int(r.id), ())) for r in rows]


def disabled_usernames(engine: Engine) -> frozenset[str]:
    """The names of users who may no longer log in."""
    with engine.connect() as conn:
        return frozenset(
            conn.execute(select(users.c.username).where(users.c.disabled.is_(True))).scalars()
        )


def is_vendor_user(engine: Engine, username: str, owner: str) -> bool:
    """Whether ``username`` is an enabled vendor user of routing owner ``owner`` (whose API
    token routing.yaml ties to that user: disabling the user stops the token)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.role, users.c.owner, users.c.disabled).where(
                users.c.username == username
            )
        ).first()
    return (
        row is not None
        and not row.disabled
        and row.role == Role.VENDOR.value
        and row.owner == owner
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


def start_session(conn: Connection, user_id: int, now: datetime) -> str:
    """Open a session for ``user_id`` inside the caller's transaction; returns its token (the
    cookie's value, stored only as a digest). Expired sessions are dropped on the way."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(sessions).values(
            token_sha256=_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))
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
        scoped = _communes_of(conn, [int(row.id)]) if row.role == Role.COMMUNE.value else {}
    return Session(_user(row, scoped.get(int(row.id), ())), row.csrf_token)


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
    """Append one line to the audit log (``collector.audit``, the log the API and the CLI write
    too), inside the caller's transaction (``conn``)."""
    audit.record(conn, at, actor, action, target, detail)


def audit_log(engine: Engine, limit: int = 200) -> list[dict[str, object]]:
    """The latest audit lines of every entry point (console, API, CLI), newest first."""
    return audit.latest(engine, limit)


def write_audit(
    engine: Engine, at: datetime, actor: str, action: str, target: str = "", detail: str = ""
) -> None:
    """Append one line to the audit log in its own transaction (ticket changes are recorded by
    ``alerts.tickets`` in the change's own transaction instead, from every entry point)."""
    with engine.begin() as conn:
        record(conn=conn, at=at, actor=actor, action=action, target=target, detail=detail)


# One account per role for ``commune-monitor demo`` (issue 10: "the demo creates one of each");
# the commune user gets the demo's first communes.
DEMO_USERS: tuple[tuple[str, Role, str | None], ...] = (
    ("admin", Role.ADMIN, None),
    ("dost", Role.DOST, None),
    ("isp-tech", Role.VENDOR, "isp"),
    ("it-xa", Role.VENDOR, "commune-it"),
    ("finance", Role.FINANCE, None),
    ("can-bo-xa", Role.COMMUNE, None),
)


def create_demo_users(
    engine: Engine, now: datetime, communes: Sequence[str] = ()
) -> list[tuple[User, str]]:
    """Create the demo's users with fresh random passwords; returns each user and its password.
    ``communes`` are the commune user's (without any, it is not made)."""
    made = []
    for username, role, owner in DEMO_USERS:
        if role is Role.COMMUNE and not communes:
            continue
        password = secrets.token_urlsafe(12)
        scoped = communes if role is Role.COMMUNE else ()
        user = create_user(engine, username, password, role, now, owner=owner, communes=scoped)
        made.append((user, password))
    return made
