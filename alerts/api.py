"""HTTP routes for tickets: thin wrappers over :mod:`alerts.tickets`, mounted by the collector.

The admin token sees every ticket; a vendor's token (its SHA-256 in routing.yaml) sees only the
tickets routed to that vendor, and anything else answers 404 as if it did not exist.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import Engine

from agent.checks.base import Clock
from alerts import tickets
from alerts.engine import AlertEngine
from alerts.rules import ProblemClass
from collector.errors import AuthError

# Ticket ids are BIGINT: a larger path value would overflow the database driver, not be a 404.
TicketId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Ticket number")]

API = "/api/v1"


class HistoryEntry(BaseModel):
    """One change or comment of a ticket."""

    at: datetime
    actor: str
    action: str
    note: str


class TicketOut(BaseModel):
    """A ticket as the API shows it (text in Vietnamese and English)."""

    id: int
    incident_id: int
    problem_class: str
    commune_code: str | None
    device_id: str | None
    system: str | None
    owner: str
    route: str | None
    unrouted: bool
    state: str
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    reopen_count: int
    respond_by: datetime
    resolve_by: datetime
    response_breached: bool
    resolution_breached: bool
    started_at: datetime
    ended_at: datetime | None
    title_vi: str
    title_en: str
    body_vi: str
    body_en: str
    evidence: dict[str, Any]
    history: list[HistoryEntry] = Field(default_factory=list)


class Note(BaseModel):
    """A note with a change: what was done, by whom (defaults to the caller)."""

    note: str = Field(default="", max_length=4000)
    actor: str | None = Field(default=None, max_length=100)


class CommentIn(BaseModel):
    """A comment on a ticket."""

    text: str = Field(min_length=1, max_length=4000)
    actor: str | None = Field(default=None, max_length=100)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling and which owner's tickets they may see (None: all)."""

    actor: str
    scope: str | None


def alerts_router(
    engine: Engine, clock: Clock, alert_engine: AlertEngine, admin_token: SecretStr | None
) -> APIRouter:
    """The /api/v1/tickets routes."""
    router = APIRouter(prefix=API, tags=["tickets"])
    desk = alert_engine.desk
    routing = alert_engine.routing

    def caller(authorization: Annotated[str | None, Header()] = None) -> Caller:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("missing Authorization: Bearer <token> header")
        token = authorization[7:].strip()
        expected = admin_token.get_secret_value() if admin_token else None
        if expected is not None and hmac.compare_digest(token.encode(), expected.encode()):
            return Caller("admin", None)
        owner = routing.owner_for_token(token)
        if owner is None:
            raise AuthError("unknown token")
        return Caller(owner, owner)

    who_dep = Depends(caller)

    @router.get("/tickets", response_model=list[TicketOut])
    async def list_tickets(
        who: Annotated[Caller, who_dep],
        state: Literal["open", "acknowledged", "resolved"] | None = None,
        problem_class: ProblemClass | None = None,
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
        owner: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
        system: Annotated[str | None, Query(max_length=64, description="systems.yaml id")] = None,
    ) -> list[dict[str, Any]]:
        """Tickets, newest first, filtered; a vendor sees its own only."""
        where = tickets.TicketFilter(
            state, problem_class, commune_code, owner, limit, offset, system
        )
        return await run_in_threadpool(tickets.list_tickets, engine, where, scope=who.scope)

    @router.get("/tickets/{ticket_id}", response_model=TicketOut)
    async def get_ticket(ticket_id: TicketId, who: Annotated[Caller, who_dep]) -> dict[str, Any]:
        """One ticket with its history."""
        return await run_in_threadpool(tickets.get_ticket, engine, ticket_id, scope=who.scope)

    @router.post("/tickets/{ticket_id}/ack", response_model=TicketOut)
    async def acknowledge(
        ticket_id: TicketId, who: Annotated[Caller, who_dep], body: Note | None = None
    ) -> dict[str, Any]:
        """The owner has taken it (stops the response SLA)."""
        actor = (body.actor if body else None) or who.actor
        return await run_in_threadpool(
            tickets.acknowledge, engine, desk, ticket_id, actor, clock.now(), scope=who.scope
        )

    @router.post("/tickets/{ticket_id}/comments", response_model=TicketOut)
    async def comment(
        ticket_id: TicketId, who: Annotated[Caller, who_dep], body: CommentIn
    ) -> dict[str, Any]:
        """Add a comment to the ticket's history."""
        return await run_in_threadpool(
            tickets.comment,
            engine,
            desk,
            ticket_id,
            body.actor or who.actor,
            body.text,
            clock.now(),
            scope=who.scope,
        )

    async def noted(
        transition: tickets.NotedTransition, ticket_id: int, who: Caller, body: Note | None
    ) -> dict[str, Any]:
        note = body or Note()
        return await run_in_threadpool(
            transition,
            engine,
            desk,
            ticket_id,
            note.actor or who.actor,
            note.note,
            clock.now(),
            scope=who.scope,
        )

    @router.post("/tickets/{ticket_id}/resolve", response_model=TicketOut)
    async def resolve(
        ticket_id: TicketId, who: Annotated[Caller, who_dep], body: Note | None = None
    ) -> dict[str, Any]:
        """Resolve by hand; a root cause still present raises it again as a reopen."""
        return await noted(tickets.resolve, ticket_id, who, body)

    @router.post("/tickets/{ticket_id}/reopen", response_model=TicketOut)
    async def reopen(
        ticket_id: TicketId, who: Annotated[Caller, who_dep], body: Note | None = None
    ) -> dict[str, Any]:
        """Not fixed after all: the same ticket opens again."""
        return await noted(tickets.reopen, ticket_id, who, body)

    return router
