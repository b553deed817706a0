"""Ticket operations for people: list and filter, acknowledge, comment, resolve, reopen.

A ``scope`` (an owner id) restricts every call to that owner's tickets: a vendor's token gets
its contract's tickets only, and a ticket outside the scope is reported as not found, so a vendor
never learns that it exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, select, update

from alerts.desk import Desk
from alerts.errors import TicketNotFound, TicketTransition
from alerts.schema import incidents, ticket_history, tickets

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
    }


def _base() -> Any:
    return select(tickets, incidents.c.started_at, incidents.c.ended_at, incidents.c.evidence).join(
        incidents, incidents.c.id == tickets.c.incident_id
    )


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
    query = query.order_by(tickets.c.id.desc()).limit(where.limit).offset(where.offset)
    with engine.connect() as conn:
        return [_view(row) for row in conn.execute(query)]


def _one(conn: Connection, ticket_id: int, scope: str | None) -> Any:
    # Ids are BIGINT: a number outside that range would overflow the driver, yet it is simply
    # a ticket that does not exist (whatever page, API call or CLI asked for it).
    if not 1 <= ticket_id <= MAX_TICKET_ID:
        raise TicketNotFound(f"ticket {ticket_id} does not exist")
    query = _base().where(tickets.c.id == ticket_id)
    if scope is not None:
        query = query.where(tickets.c.owner == scope)
    row = conn.execute(query).first()
    if row is None:
        raise TicketNotFound(f"ticket {ticket_id} does not exist")
    return row


def get_ticket(engine: Engine, ticket_id: int, *, scope: str | None = None) -> dict[str, Any]:
    """One ticket with its history."""
    with engine.connect() as conn:
        view = _view(_one(conn, ticket_id, scope))
        view["history"] = [
            {"at": h.at, "actor": h.actor, "action": h.action, "note": h.note}
            for h in conn.execute(
                select(ticket_history)
                .where(ticket_history.c.ticket_id == ticket_id)
                .order_by(ticket_history.c.id)
            )
        ]
    return view


def acknowledge(
    engine: Engine, desk: Desk, ticket_id: int, actor: str, now: datetime, *, scope: str | None
) -> dict[str, Any]:
    """The owner has seen it (stops the response SLA clock)."""
    with engine.begin() as conn:
        row = _one(conn, ticket_id, scope)
        if row.state != "open":
            raise TicketTransition(
                f"ticket {ticket_id} is {row.state}; only an open ticket is acknowledged"
            )
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(state="acknowledged", acknowledged_at=now)
        )
        desk.record(conn, ticket_id, now, actor, "acknowledged")
    return get_ticket(engine, ticket_id, scope=scope)


def comment(
    engine: Engine,
    desk: Desk,
    ticket_id: int,
    actor: str,
    text: str,
    now: datetime,
    *,
    scope: str | None,
) -> dict[str, Any]:
    """A note in the ticket's history (no notification)."""
    with engine.begin() as conn:
        _one(conn, ticket_id, scope)
        desk.record(conn, ticket_id, now, actor, "commented", text, notify=False)
    return get_ticket(engine, ticket_id, scope=scope)


def resolve(
    engine: Engine,
    desk: Desk,
    ticket_id: int,
    actor: str,
    note: str,
    now: datetime,
    *,
    scope: str | None,
) -> dict[str, Any]:
    """Resolved by a person; if the root cause persists the rules reopen it."""
    with engine.begin() as conn:
        row = _one(conn, ticket_id, scope)
        if row.state == "resolved":
            raise TicketTransition(f"ticket {ticket_id} is already resolved")
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(state="resolved", resolved_at=now, resolved_by=actor)
        )
        # The incident ends with it: a condition still true raises it again, as a reopen.
        conn.execute(
            update(incidents)
            .where(incidents.c.id == row.incident_id, incidents.c.active.is_(True))
            .values(active=False, ended_at=now, updated_at=now)
        )
        desk.record(conn, ticket_id, now, actor, "resolved", note)
    return get_ticket(engine, ticket_id, scope=scope)


def reopen(
    engine: Engine,
    desk: Desk,
    ticket_id: int,
    actor: str,
    note: str,
    now: datetime,
    *,
    scope: str | None,
) -> dict[str, Any]:
    """A person says it is not fixed: the same ticket opens again with fresh SLA deadlines."""
    with engine.begin() as conn:
        row = _one(conn, ticket_id, scope)
        if row.state != "resolved":
            raise TicketTransition(
                f"ticket {ticket_id} is {row.state}; only a resolved ticket reopens"
            )
        owner = (
            desk.routing.owners.get(row.owner) or desk.routing.owners[desk.routing.default_owner]
        )
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(
                state="open",
                resolved_at=None,
                resolved_by=None,
                acknowledged_at=None,
                reopen_count=tickets.c.reopen_count + 1,
                respond_by=now + owner.sla.respond,
                resolve_by=now + owner.sla.resolve,
            )
        )
        desk.record(conn, ticket_id, now, actor, "reopened", note)
    return get_ticket(engine, ticket_id, scope=scope)


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
