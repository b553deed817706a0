"""The audit log: one line per change made by a person or a token, from any entry point.

Every feature writes here in the transaction of the change it records, so a change and its line
are stored together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from collector.schema import audit_log

# Bounds of the columns: an actor or a detail from a request is cut, never refused.
_ACTOR, _ACTION, _TARGET, _DETAIL = 64, 40, 200, 2000


def record(
    conn: Connection, at: datetime, actor: str, action: str, target: str = "", detail: str = ""
) -> None:
    """Append one line, inside the caller's transaction."""
    conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor[:_ACTOR],
            action=action[:_ACTION],
            target=target[:_TARGET],
            detail=detail[:_DETAIL],
        )
    )


def latest(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    """The latest lines, newest first."""
    with engine.connect() as conn:
        return [
            dict(row._mapping)
            for row in conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))
        ]
