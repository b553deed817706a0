"""Enrolment tokens, agent identities and their bearer tokens (stored only as SHA-256 hashes).

Agent tokens are 256-bit random values, so a fast hash is enough at rest: there is nothing to
brute-force, unlike a human password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from collector import audit
from collector.errors import AuthError, Conflict, NotFound
from collector.schema import agents, communes, enrol_tokens

# The actor of changes made with the admin token (API) and by an agent enrolling itself.
API_ADMIN_ACTOR = "admin-token"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AgentIdentity:
    """An authenticated agent."""

    agent_id: str
    commune_code: str
    token_hash: str


@dataclass(frozen=True)
class Enrolment:
    """What a newly enrolled agent receives; the token is shown only this once."""

    agent_id: str
    agent_token: str
    commune_code: str


@dataclass(frozen=True)
class AgentRow:
    """An agent as listed by ``agents list``."""

    agent_id: str
    commune_code: str
    hostname: str
    created_at: datetime
    revoked_at: datetime | None
    acked_seq: int
    last_seen_at: datetime | None
    clock_skew_seconds: float
    refusals: int = 0
    last_refusal_at: datetime | None = None
    last_refusal: str | None = None


def create_enrol_token(
    engine: Engine,
    commune_code: str,
    now: datetime,
    ttl: timedelta,
    note: str = "",
    *,
    actor: str = "system",
) -> str:
    """A new one-time enrolment token for an agent of ``commune_code`` (audited)."""
    token = "enr_" + secrets.token_urlsafe(24)
    with engine.begin() as conn:
        if (
            conn.execute(select(communes.c.code).where(communes.c.code == commune_code)).first()
            is None
        ):
            raise NotFound(
                f"commune {commune_code!r} is not in the store; run 'commune-monitor communes load'"
            )
        conn.execute(
            enrol_tokens.insert().values(
                token_hash=hash_token(token),
                commune_code=commune_code,
                created_at=now,
                expires_at=now + ttl,
                note=note,
            )
        )
        audit.record(conn, now, actor, "enrol_token_created", f"commune:{commune_code}", note)
    return token


def enrol(
    engine: Engine, token: str, hostname: str, agent_version: str, now: datetime
) -> Enrolment:
    """Exchange a one-time enrolment token for an agent id and a long-lived agent token."""
    agent_id = "ag_" + secrets.token_hex(8)
    agent_token = "agt_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        row = conn.execute(
            select(enrol_tokens).where(enrol_tokens.c.token_hash == hash_token(token))
        ).first()
        if row is None:
            raise AuthError("unknown enrolment token")
        if row.used_at is not None:
            raise Conflict("enrolment token was already used; ask an admin for a new one")
        if row.expires_at <= now:
            raise AuthError("enrolment token has expired; ask an admin for a new one")
        # The conditional update makes a concurrent second use lose the race instead of enrolling.
        claimed = conn.execute(
            update(enrol_tokens)
            .where(enrol_tokens.c.id == row.id, enrol_tokens.c.used_at.is_(None))
            .values(used_at=now, agent_id=agent_id)
        ).rowcount
        if claimed != 1:
            raise Conflict("enrolment token was already used; ask an admin for a new one")
        conn.execute(
            agents.insert().values(
                id=agent_id,
                commune_code=row.commune_code,
                token_hash=hash_token(agent_token),
                hostname=hostname,
                agent_version=agent_version,
                created_at=now,
                acked_seq=0,
                max_seq=0,
                clock_skew_seconds=0.0,
            )
        )
        audit.record(
            conn,
            now,
            f"enrol-token:{row.id}",
            "agent_enrolled",
            f"agent:{agent_id}",
            f"commune {row.commune_code}, host {hostname[:100]}",
        )
    return Enrolment(agent_id=agent_id, agent_token=agent_token, commune_code=row.commune_code)


def authenticate(engine: Engine, token: str) -> AgentIdentity:
    """The agent holding bearer ``token``; revoked or unknown tokens raise AuthError."""
    with engine.connect() as conn:
        row = conn.execute(
            select(agents.c.id, agents.c.commune_code, agents.c.revoked_at).where(
                agents.c.token_hash == hash_token(token)
            )
        ).first()
    if row is None:
        raise AuthError("unknown agent token")
    if row.revoked_at is not None:
        raise AuthError("agent token has been revoked")
    return AgentIdentity(
        agent_id=row.id, commune_code=row.commune_code, token_hash=hash_token(token)
    )


class TokenCache:
    """Remembers recent token lookups so that ingest does not query the store per request.

    Safe for revocation and rotation: the ingest transaction re-reads the agent row and refuses
    a revoked agent or a token that is no longer the agent's, so a cached entry cannot write.
    """

    def __init__(
        self, engine: Engine, ttl_seconds: float = 30.0, max_entries: int = 50_000
    ) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[str, tuple[float, AgentIdentity]] = {}

    def lookup(self, token: str, monotonic_now: float) -> AgentIdentity | None:
        """The cached identity for ``token``, if fresh."""
        entry = self._entries.get(hash_token(token))
        if entry is None or monotonic_now - entry[0] > self._ttl:
            return None
        return entry[1]

    def remember(self, identity: AgentIdentity, monotonic_now: float) -> None:
        """Cache a successful lookup."""
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[identity.token_hash] = (monotonic_now, identity)


def revoke(engine: Engine, agent_id: str, now: datetime, *, actor: str = "system") -> None:
    """Revoke an agent's token; its next request is refused (audited)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(agents).where(agents.c.id == agent_id).values(revoked_at=now)
        ).rowcount
        if done != 1:
            raise NotFound(f"no agent {agent_id!r}")
        audit.record(conn, now, actor, "agent_revoked", f"agent:{agent_id}")


def rotate_token(
    engine: Engine, agent_id: str, now: datetime | None = None, *, actor: str = "system"
) -> str:
    """Give an agent a new token; the old one stops working at once (audited)."""
    token = "agt_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        done = conn.execute(
            update(agents)
            .where(agents.c.id == agent_id, agents.c.revoked_at.is_(None))
            .values(token_hash=hash_token(token))
        ).rowcount
        if done != 1:
            raise NotFound(f"no active agent {agent_id!r}")
        audit.record(
            conn, now or datetime.now(UTC), actor, "agent_token_rotated", f"agent:{agent_id}"
        )
    return token


def list_agents(engine: Engine, commune_code: str | None = None) -> list[AgentRow]:
    """Every agent, optionally of one commune, oldest first."""
    query = select(agents).order_by(agents.c.created_at, agents.c.id)
    if commune_code is not None:
        query = query.where(agents.c.commune_code == commune_code)
    with engine.connect() as conn:
        return [
            AgentRow(
                agent_id=r.id,
                commune_code=r.commune_code,
                hostname=r.hostname,
                created_at=r.created_at,
                revoked_at=r.revoked_at,
                acked_seq=r.acked_seq,
                last_seen_at=r.last_seen_at,
                clock_skew_seconds=r.clock_skew_seconds,
                refusals=r.refusals,
                last_refusal_at=r.last_refusal_at,
                last_refusal=r.last_refusal,
            )
            for r in conn.execute(query)
        ]
