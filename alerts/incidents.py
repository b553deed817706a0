"""Incidents: one row per root cause, keyed by ``key`` (``site_outage:25117``), in agent time.

The writes a detector needs, inside its transaction: the newest incident of a key, a new one,
its end, corrections of its start and end when replayed reports tell the truth, and the member
symptoms kept under it. Tickets are :mod:`alerts.lifecycle`'s.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from alerts.schema import alerts, incidents


def latest(conn: Connection, key: str) -> Any:
    """The newest incident with ``key``, or None."""
    return conn.execute(
        select(incidents).where(incidents.c.key == key).order_by(incidents.c.id.desc()).limit(1)
    ).first()


def latest_many(conn: Connection, keys: Collection[str]) -> dict[str, Any]:
    """The newest incident of each of ``keys`` that has one, in two statements."""
    if not keys:
        return {}
    newest = (
        select(func.max(incidents.c.id))
        .where(incidents.c.key.in_(sorted(keys)))
        .group_by(incidents.c.key)
        .scalar_subquery()
    )
    rows = conn.execute(select(incidents).where(incidents.c.id.in_(newest)))
    return {row.key: row for row in rows}


def get(conn: Connection, incident_id: int) -> Any:
    """The incident ``incident_id``."""
    return conn.execute(select(incidents).where(incidents.c.id == incident_id)).one()


def insert(conn: Connection, values: dict[str, Any]) -> int:
    """A new active incident; returns its id."""
    result = conn.execute(incidents.insert().values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_values(conn: Connection, incident_id: int, **values: Any) -> None:
    """Set columns of one incident."""
    conn.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))


def end(conn: Connection, incident_id: int, ended_at: datetime, now: datetime) -> None:
    """The root cause recovered at ``ended_at`` (agent time), and its members with it."""
    conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id, incidents.c.active.is_(True))
        .values(active=False, ended_at=ended_at, updated_at=now)
    )
    conn.execute(
        update(alerts)
        .where(alerts.c.incident_id == incident_id, alerts.c.ended_at.is_(None))
        .values(ended_at=ended_at)
    )


def attach(
    conn: Connection, incident_id: int, subject: str, signal: str, started_at: datetime
) -> None:
    """Keep a member symptom (a silent agent of a cut commune) under its incident, once."""
    exists = conn.execute(
        select(alerts.c.id).where(
            alerts.c.incident_id == incident_id,
            alerts.c.subject == subject,
            alerts.c.signal == signal,
        )
    ).first()
    if exists is None:
        conn.execute(
            alerts.insert().values(
                incident_id=incident_id,
                subject=subject,
                signal=signal,
                started_at=started_at,
                suppressed=True,
            )
        )


def merge_evidence(stored: str, new: dict[str, Any]) -> str:
    """Stored evidence (JSON) updated with ``new``: lists (communes, targets) are unions."""
    merged = json.loads(stored)
    for key, value in new.items():
        if isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = sorted({*merged[key], *value})
        else:
            merged[key] = value
    return json.dumps(merged, ensure_ascii=False)


def active_software_outages(conn: Connection) -> set[str]:
    """Keys of the active ``software_outage`` incidents (the only ones with no commune, so the
    (commune_code, active) index finds them)."""
    return set(
        conn.execute(
            select(incidents.c.key).where(
                incidents.c.commune_code.is_(None),
                incidents.c.active.is_(True),
                incidents.c.problem_class == "software_outage",
            )
        ).scalars()
    )
