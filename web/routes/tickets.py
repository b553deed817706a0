"""Tickets: the list, one ticket (with its reports and first checks), and acknowledging,
commenting and resolving it.

Reads and actions pass the vendor's owner as ``scope`` and a commune user's communes as
``communes``, so a ticket outside them is a 404 whether it is guessed from the URL or posted to.
Commune staff read their communes' tickets and comment on them; they do not acknowledge or
resolve. Every change is audited by ``alerts.tickets`` in the change's own transaction.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from alerts import tickets
from alerts.categories import bundled_categories
from alerts.errors import TicketNotFound, TicketTransition
from alerts.text import CLASS_TEXT
from web.accounts import Role, Session
from web.errors import BadForm
from web.routes.context import PREFIX, TICKET_ACTORS, TICKET_ROLES
from web.routes.http import Pages, family_router

MAX_COMMENT = 4000
ActionName = Literal["ack", "comment", "resolve"]
# Commune staff (issue 22) read their communes' tickets and add what they know.
VIEWERS = TICKET_ROLES | {Role.COMMUNE}
COMMENTERS = TICKET_ACTORS | {Role.COMMUNE}
# Who reports problems from the console (web/routes/intake.py).
REPORTERS = frozenset({Role.ADMIN, Role.DOST, Role.COMMUNE})


def comment_text(form: dict[str, str]) -> str:
    """The posted comment, trimmed; refused when empty or longer than ``MAX_COMMENT``."""
    text = form.get("text", "").strip()
    if not text:
        raise BadForm("text", "empty")
    if len(text) > MAX_COMMENT:
        raise BadForm("text", f"longer than {MAX_COMMENT} characters")
    return text


class TicketPages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    async def ticket_list(
        self,
        request: Request,
        state: str | None = None,
        problem_class: str | None = None,
        commune: str | None = None,
    ) -> Response:
        """GET /tickets: the visitor's tickets (a vendor's own only), filtered."""
        session = await self.pages.require(request, VIEWERS)
        where = tickets.TicketFilter(
            state=state if state in tickets.STATES else None,
            problem_class=problem_class or None,
            commune_code=commune[:5] if commune else None,
            limit=200,
            communes=session.user.commune_scope,
        )
        found = await run_in_threadpool(
            tickets.list_tickets, self.console.engine, where, scope=session.user.ticket_scope
        )
        return self.pages.page(
            request,
            "tickets.html",
            session,
            tickets=found,
            state=where.state,
            problem_class=problem_class or "",
            commune=commune or "",
            owners=self.console.owners,
            states=tickets.STATES,
            classes=tuple(CLASS_TEXT),
            categories={c.id: c for c in bundled_categories().items},
            can_report=session.user.role in REPORTERS,
        )

    async def _one(self, request: Request, session: Session, ticket_id: int) -> dict[str, Any]:
        try:
            return await run_in_threadpool(
                tickets.get_ticket,
                self.console.engine,
                ticket_id,
                scope=session.user.ticket_scope,
                communes=session.user.commune_scope,
            )
        except TicketNotFound:
            raise self.pages.fail(
                request, session, 404, self.pages.t(request)("not_found")
            ) from None

    async def ticket_page(self, request: Request, ticket_id: int) -> Response:
        """GET /tickets/{id}."""
        session = await self.pages.require(request, VIEWERS)
        ticket = await self._one(request, session, ticket_id)
        desk = self.console.desk is not None
        return self.pages.page(
            request,
            "ticket.html",
            session,
            ticket=ticket,
            owners=self.console.owners,
            can_act=session.user.role in TICKET_ACTORS and desk,
            can_comment=session.user.role in COMMENTERS and desk,
            categories={c.id: c for c in bundled_categories().items},
            staff_first=session.user.role is Role.COMMUNE,
        )

    def _apply(self, session: Session, ticket_id: int, action: ActionName, text: str) -> None:
        console = self.console
        assert console.desk is not None
        engine, desk, now = console.engine, console.desk, console.clock.now()
        actor, scope = session.user.username, session.user.ticket_scope
        communes = session.user.commune_scope
        if action == "ack":
            tickets.acknowledge(engine, desk, ticket_id, actor, now, scope=scope, communes=communes)
        elif action == "comment":
            tickets.comment(
                engine, desk, ticket_id, actor, text, now, scope=scope, communes=communes
            )
        else:
            note = text[:MAX_COMMENT]
            tickets.resolve(
                engine, desk, ticket_id, actor, note, now, scope=scope, communes=communes
            )

    async def ticket_action(self, request: Request, ticket_id: int, action: ActionName) -> Response:
        """Acknowledge, comment on or resolve a ticket (audited by ``alerts.tickets``)."""
        pages, t = self.pages, self.pages.t(request)
        session = await pages.require(request, COMMENTERS if action == "comment" else TICKET_ACTORS)
        form = await pages.form_of(request, session)
        if self.console.desk is None:
            raise pages.fail(request, session, 409, t("desk_disabled"))
        try:
            text = comment_text(form) if action == "comment" else form.get("text", "").strip()
            await run_in_threadpool(self._apply, session, ticket_id, action, text)
        except BadForm as exc:
            raise pages.bad_form(request, session, exc) from None
        except TicketNotFound:
            raise pages.fail(request, session, 404, t("not_found")) from None
        except TicketTransition as exc:
            raise pages.fail(request, session, 409, t("conflict", message=str(exc))) from None
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}", status_code=303)

    async def ticket_ack(self, request: Request, ticket_id: int) -> Response:
        """POST /tickets/{id}/ack."""
        return await self.ticket_action(request, ticket_id, "ack")

    async def ticket_comment(self, request: Request, ticket_id: int) -> Response:
        """POST /tickets/{id}/comment."""
        return await self.ticket_action(request, ticket_id, "comment")

    async def ticket_resolve(self, request: Request, ticket_id: int) -> Response:
        """POST /tickets/{id}/resolve."""
        return await self.ticket_action(request, ticket_id, "resolve")


def router(pages: Pages) -> APIRouter:
    """The ticket routes."""
    handlers = TicketPages(pages)
    routes = family_router()
    routes.add_api_route("/tickets", handlers.ticket_list, methods=["GET"])
    routes.add_api_route("/tickets/{ticket_id}", handlers.ticket_page, methods=["GET"])
    routes.add_api_route("/tickets/{ticket_id}/ack", handlers.ticket_ack, methods=["POST"])
    routes.add_api_route("/tickets/{ticket_id}/comment", handlers.ticket_comment, methods=["POST"])
    routes.add_api_route("/tickets/{ticket_id}/resolve", handlers.ticket_resolve, methods=["POST"])
    return routes
