"""Ticket operations for people: list and filter, acknowledge, comment, resolve, reopen.

State changes are :mod:`alerts.lifecycle`'s; this module checks what a person may do, and
records each change in the audit log (``collector.audit``) in the change's own transaction,
whichever entry point made it (API, CLI, console).

A ``scope`` (an owner id) restricts every call to that owner's tickets: a vendor's token gets
its contract's tickets only, and a ticket outside the scope is reported as not found, so a vendor
never learns that it exists. ``communes`` does the same for commune staff (their communes'
tickets only).

A ticket people reported (issue 22) shows its reports; every ticket shows its first checks
(``alerts.runbooks``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, select

from alerts import incidents as incident_rows
from alerts.desk import Desk
from alerts.errors import TicketNotFound, TicketTransition
from alerts.runbooks import bundled_runbooks
from alerts.schema import incidents, reports, ticket_history, tickets
from collector import audit

STATES = ("open", "acknowledged", "resolved")

MAX_TICKET_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What to list; None matches everything."""

    state: str | None = None
    problem_class: str | None = None
    commune_code: str | None = None
    owner: str | None = None
    limit: int = 100
    offset: int = 0
    system: str | None = None
    # Only these communes' tickets (commune staff); None: any.
    communes: frozenset[str] | None = None


class NotedTransition(Protocol):
    """A person's change of a ticket's state with a note: :func:`resolve` and :func:`reopen`."""

    def __call__(
        self,
        engine: Engine,
        desk: Desk,
        ticket_id: int,
        actor: str,
        note: str,
        now: datetime,
        *,
        scope: str | None,
        communes: Collection[str] | None = None,
    ) -> dict[str, Any]: ...


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "incident_id": int(row.incident_id),
        "problem_class": row.problem_class,
        "commune_code": row.commune_code,
        "device_id": row.device_id,
        "system": row.system,
        "owner": row.owner,
        "route": row.route,
        "unrouted": bool(row.unrouted),
        "state": row.state,
        "opened_at": row.opened_at,
        "acknowledged_at": row.acknowledged_at,
        "resolved_at": row.resolved_at,
        "reopen_count": int(row.reopen_count),
        "respond_by": row.respond_by,
        "resolve_by": row.resolve_by,
        "response_breached": bool(row.response_breached),
        "resolution_breached": bool(row.resolution_breached),
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "title_vi": row.title_vi,
        "title_en": row.title_en,
        "body_vi": row.body_vi,
        "body_en": row.body_en,
        "evidence": {k: v for k, v in json.loads(row.evidence).items() if not k.startswith("_")},
        # The report category of a ticket people reported (categories.yaml), else None.
        "category": row.category,
    }


def _base() -> Any:
    return select(
        tickets,
        incidents.c.started_at,
        incidents.c.ended_at,
        incidents.c.evidence,
        incidents.c.category,
    ).join(incidents, incidents.c.id == tickets.c.incident_id)


def list_tickets(
    engine: Engine, where: TicketFilter, *, scope: str | None = None
) -> list[dict[str, Any]]:
    """Tickets matching ``where`` (newest first), within ``scope`` if given."""
    query = _base()
    if scope is not None:
        query = query.where(tickets.c.owner == scope)
    if where.state is not None:
        query = query.where(tickets.c.state == where.state)
    if where.problem_class is not None:
        query = query.where(tickets.c.problem_class == where.problem_class)
    if where.commune_code is not None:
        query = query.where(tickets.c.commune_code == where.commune_code)
    if where.owner is not None:
        query = query.where(tickets.c.owner == where.owner)
    if where.system is not None:
        query = query.where(tickets.c.system == where.system)
    if where.communes is not None:
        query = query.where(tickets.c.commune_code.in_(sorted(where.communes)))
    query = query.order_by(tickets.c.id.desc()).limit(where.limit).offset(where.offset)
    with engine.connect() as conn:
        return [_view(row) for row in conn.execute(query)]


def _one(
    conn: Connection,
    ticket_id: int,
    scope: str | None,
    communes: Collection[str] | None = None,
) -> Any:
    # Ids are BIGINT: a number outside that range would overflow the driver, yet it is simply
    # a ticket that does not exist (whatever page, API call or CLI asked for it).
    if not 1 <= ticket_id <= MAX_TICKET_ID:
        raise TicketNotFound(f"ticket {ticket_id} does not exist")
    query = _base().where(tickets.c.id == ticket_id)
    if scope is not None:
        query = query.where(tickets.c.owner == scope)
    if communes is not None:
        query = query.where(tickets.c.commune_code.in_(sorted(communes)))
    row = conn.execute(query).first()
    if row is None:
        raise TicketNotFound(f"ticket {ticket_id} does not exist")
    return row


def get_ticket(
    engine: Engine,
    ticket_id: int,
    *,
    scope: str | None = None,
    communes: Collection[str] | None = None,
) -> dict[str, Any]:
    """One ticket with its history, its reports and its first checks."""
    with engine.connect() as conn:
        row = _one(conn, ticket_id, scope, communes)
        view = _view(row)
        view["history"] = [
            {"at": h.at, "actor": h.actor, "action": h.action, "note": h.note}
            for h in conn.execute(
                select(ticket_history)
                .where(ticket_history.c.ticket_id == ticket_id)
                .order_by(ticket_history.c.id)
            )
        ]
        view["reports"] = [
            {
                "at": r.at,
                "actor": r.actor,
                "source": r.source,
                "category": r.category,
                "device_id": r.device_id,
                "counter": r.counter,
                "description": r.description,
                "message": r.message,
                "reporter_name": r.reporter_name,
                "reporter_phone": r.reporter_phone,
                "attached": bool(r.attached),
            }
            for r in conn.execute(
                select(reports)
                .where(reports.c.incident_id == row.incident_id)
                .order_by(reports.c.id)
            )
        ]
    runbook = bundled_runbooks().for_ticket(view["problem_class"], view["category"])
    view["runbook"] = runbook.model_dump(mode="json") if runbook is not None else None
    return view


def acknowledge_on(
    conn: Connection,
    desk: Desk,
    ticket_id: int,
    actor: str,
    now: datetime,
    *,
    scope: str | None = None,
    communes: Collection[str] | None = None,
    how: str = "",
) -> None:
    """Acknowledge inside the caller's transaction (the answer links use it with their own
    bookkeeping); ``how`` goes into the audit line."""
    row = _one(conn, ticket_id, scope, communes)
    if row.state != "open":
        raise TicketTransition(
            f"ticket {ticket_id} is {row.state}; only an open ticket is acknowledged"
        )
    desk.lifecycle.acknowledge(conn, row, actor, now)
    audit.record(conn, now, actor, "ticket_ack", f"ticket:{ticket_id}", how)


def resolve_on(
    conn: Connection,
    desk: Desk,
    ticket_id: int,
    actor: str,
    note: str,
    now: datetime,
    *,
    scope: str | None = None,
    communes: Collection[str] | None = None,
    how: str = "",
) -> None:
    """Resolve inside the caller's transaction; ``how`` goes into the audit line."""
    row = _one(conn, ticket_id, scope, communes)
    if row.state == "resolved":
        raise TicketTransition(f"ticket {ticket_id} is already resolved")
    desk.lifecycle.resolve(conn, row, actor, note, now)
    detail = f"{how}: {note}" if how else note
    audit.record(conn, now, actor, "ticket_resolve", f"ticket:{ticket_id}", detail[:500])


def acknowledge(
    engine: Engine,
    desk: Desk,
    ticket_id: int,
    actor: str,
    now: datetime,
    *,
    scope: str | None,
    communes: Collection[str] | None = None,
) -> dict[str, Any]:
    """The owner has seen it (stops the response SLA clock)."""
    with engine.begin() as conn:
        acknowledge_on(conn, desk, ticket_id, actor, now, scope=scope, communes=communes)
    return get_ticket(engine, ticket_id, scope=scope, communes=communes)


def comment(
    engine: Engine,
    desk: Desk,
    ticket_id: int,
    actor: str,
    text: str,
    now: datetime,
    *,
    scope: str | None,
    communes: Collection[str] | None = None,
) -> dict[str, Any]:
    """A note in the ticket's history (no notification)."""
    with engine.begin() as conn:
        row = _one(conn, ticket_id, scope, communes)
        desk.lifecycle.comment(conn, row, actor, text, now)
        audit.record(conn, now, actor, "ticket_comment", f"ticket:{ticket_id}", text[:500])
    return get_ticket(engine, ticket_id, scope=scope, communes=communes)


def resolve(
    engine: Engine,
    desk: Desk,
    ticket_id: int,
    actor: str,
    note: str,
    now: datetime,
    *,
    scope: str | None,
    communes: Collection[str] | None = None,
) -> dict[str, Any]:
    """Resolved by a person; if the root cause persists the rules reopen it."""
    with engine.begin() as conn:
        resolve_on(conn, desk, ticket_id, actor, note, now, scope=scope, communes=communes)
    return get_ticket(engine, ticket_id, scope=scope, communes=communes)


def reopen(
    engine: Engine,
    desk: Desk,
    ticket_id: int,
    actor: str,
    note: str,
    now: datetime,
    *,
    scope: str | None,
    communes: Collection[str] | None = None,
) -> dict[str, Any]:
    """A person says it is not fixed: the same ticket opens again with fresh SLA deadlines."""
    with engine.begin() as conn:
        row = _one(conn, ticket_id, scope, communes)
        if row.state != "resolved":
            raise TicketTransition(
                f"ticket {ticket_id} is {row.state}; only a resolved ticket reopens"
            )
        if row.category is not None:
            # A reported problem has no detector to raise it again: its incident is live once
            # more, or the hold-down would resolve the reopened ticket at the next sweep.
            incident_rows.update_values(
                conn, row.incident_id, active=True, ended_at=None, updated_at=now
            )
        desk.lifecycle.reopen(conn, row, actor, note, now)
        audit.record(conn, now, actor, "ticket_reopen", f"ticket:{ticket_id}", note[:500])
    return get_ticket(engine, ticket_id, scope=scope, communes=communes)


def counts(engine: Engine) -> dict[str, int]:
    """Tickets per state and SLA breaches (for /metrics and the overview)."""
    with engine.connect() as conn:
        out = {state: 0 for state in STATES}
        for state, number in conn.execute(
            select(tickets.c.state, func.count()).group_by(tickets.c.state)
        ):
            out[state] = int(number)
        for flag in ("response_breached", "resolution_breached"):
            out[flag] = int(
                conn.execute(select(func.count()).where(tickets.c[flag].is_(True))).scalar_one()
            )
    return out
