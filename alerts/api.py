"""HTTP routes for tickets: thin wrappers over :mod:`alerts.tickets`, mounted by the collector.

The admin token sees every ticket; a vendor's token (its SHA-256 in routing.yaml) sees only the
tickets routed to that vendor, and anything else answers 404 as if it did not exist. A vendor
token belongs to a console user (``token_user`` in routing.yaml) and works only while that user
is an enabled vendor user of the owner (``is_vendor_user``, given by the composition root): a
technician who left is disabled in the console and their token stops at once. Who did what in a
ticket's history is the authenticated principal ("admin" or the token's user), never a name the
request gives; every change is in the audit log.

``POST /api/v1/tickets`` takes a problem a person reported (issue 22; the hotline's or DOST's
tools, with the admin token): it opens a ticket routed like any other, or joins the open ticket
that already covers it (200, "đã có phiếu #18"). A vendor token cannot report (403).
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import Engine

from agent.clock import Clock
from alerts import tickets
from alerts.engine import AlertEngine
from alerts.intake import ReportIn, report_problem
from alerts.routing import Routing
from alerts.rules import ProblemClass
from collector.api_models import ErrorBody
from collector.errors import AuthError, Forbidden

# Ticket ids are BIGINT: a larger path value would overflow the database driver, not be a 404.
TicketId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Ticket number")]

API = "/api/v1"


class HistoryEntry(BaseModel):
    """One change or comment of a ticket."""

    at: datetime
    actor: str
    action: str
    note: str


class ReportOut(BaseModel):
    """A problem a person reported, as the ticket keeps it."""

    at: datetime
    actor: str
    source: str
    category: str
    device_id: str | None
    counter: str | None
    description: str
    message: str
    reporter_name: str
    reporter_phone: str
    attached: bool


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
    category: str | None = Field(
        default=None, description="Report category (categories.yaml) of a reported problem"
    )
    history: list[HistoryEntry] = Field(default_factory=list)
    reports: list[ReportOut] = Field(default_factory=list)
    runbook: dict[str, Any] | None = Field(
        default=None, description="First checks: staff and technician, each in vi and en"
    )


class ReportOutcome(BaseModel):
    """What became of a report: the ticket it opened (201) or joined (200), and what to say."""

    attached: bool
    message_vi: str
    message_en: str
    ticket: TicketOut


class Note(BaseModel):
    """A note with a change: what was done (the actor is the caller, from its token)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=4000)


class CommentIn(BaseModel):
    """A comment on a ticket (the actor is the caller, from its token)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling and which owner's tickets they may see (None: all)."""

    actor: str
    scope: str | None


# (username, owner id) -> whether that console user is an enabled vendor user of that owner.
VendorUserCheck = Callable[[str, str], bool]


def ticket_caller(
    routing: Routing, admin_token: SecretStr | None, is_vendor_user: VendorUserCheck | None
) -> Callable[[str | None], Caller]:
    """The check of a ticket API caller's token: the admin, or a vendor token whose console user
    is an enabled vendor user of its owner (also run before the body is read, province.app)."""

    def caller(authorization: Annotated[str | None, Header()] = None) -> Caller:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("missing Authorization: Bearer <token> header")
        token = authorization[7:].strip()
        expected = admin_token.get_secret_value() if admin_token else None
        if expected is not None and hmac.compare_digest(token.encode(), expected.encode()):
            return Caller("admin", None)
        holder = routing.token_holder(token)
        if holder is None:
            raise AuthError("unknown token")
        owner, user = holder
        if user is None:
            raise AuthError(
                f"the token of owner {owner!r} belongs to no console user; routing.yaml must "
                "name its vendor user in token_user"
            )
        if is_vendor_user is None or not is_vendor_user(user, owner):
            raise AuthError(f"the token's user {user!r} is not an enabled vendor user of {owner!r}")
        return Caller(user, owner)

    return caller


def alerts_router(
    engine: Engine,
    clock: Clock,
    alert_engine: AlertEngine,
    admin_token: SecretStr | None,
    is_vendor_user: VendorUserCheck | None = None,
) -> APIRouter:
    """The /api/v1/tickets routes; without ``is_vendor_user`` only the admin token works."""
    router = APIRouter(prefix=API, tags=["tickets"])
    desk = alert_engine.desk
    routing = alert_engine.routing

    caller = ticket_caller(routing, admin_token, is_vendor_user)
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

    _report_route(router, engine, clock, alert_engine, who_dep)

    @router.get("/tickets/{ticket_id}", response_model=TicketOut)
    async def get_ticket(ticket_id: TicketId, who: Annotated[Caller, who_dep]) -> dict[str, Any]:
        """One ticket with its history."""
        return await run_in_threadpool(tickets.get_ticket, engine, ticket_id, scope=who.scope)

    @router.post("/tickets/{ticket_id}/ack", response_model=TicketOut)
    async def acknowledge(
        ticket_id: TicketId, who: Annotated[Caller, who_dep], body: Note | None = None
    ) -> dict[str, Any]:
        """The owner has taken it (stops the response SLA)."""
        return await run_in_threadpool(
            tickets.acknowledge, engine, desk, ticket_id, who.actor, clock.now(), scope=who.scope
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
            who.actor,
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
            who.actor,
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


def _report_route(
    router: APIRouter, engine: Engine, clock: Clock, alert_engine: AlertEngine, who_dep: Any
) -> None:
    """``POST /tickets``: a problem people report (issue 22)."""
    desk = alert_engine.desk

    @router.post(
        "/tickets",
        response_model=ReportOutcome,
        status_code=201,
        responses={
            200: {"model": ReportOutcome, "description": "Joined the open ticket covering it"},
            403: {"model": ErrorBody},
            422: {"model": ErrorBody},
        },
    )
    async def report(
        who: Annotated[Caller, who_dep], body: ReportIn, response: Response
    ) -> dict[str, Any]:
        """Report a problem people see (cannot sign, print, scan, a software error, slow...)."""
        if who.scope is not None:
            raise Forbidden(
                "a vendor token cannot report problems: DOST, commune staff and the hotline "
                "report them (admin token, console, CLI)"
            )
        intake = await run_in_threadpool(
            report_problem, engine, desk, body, who.actor, "api", clock.now()
        )
        ticket = await run_in_threadpool(tickets.get_ticket, engine, intake.ticket_id)
        response.status_code = 200 if intake.attached else 201
        return {
            "attached": intake.attached,
            "message_vi": intake.message_vi,
            "message_en": intake.message_en,
            "ticket": ticket,
        }
