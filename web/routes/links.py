"""The pages behind the signed links of a ticket's messages (issue 22): no login.

``GET /a/{token}`` only shows what the link would do (mail scanners and chat previews open links
on their own); the page's button POSTs back to the same address, which does it once
(``alerts.action_links``). A link that was used, has expired, was altered, or whose ticket moved
to another owner shows why, in Vietnamese and then English, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from alerts import tickets
from alerts.action_links import use_link
from alerts.errors import TicketNotFound, TicketTransition
from alerts.link_tokens import ActionLinks, LinkClaim, LinkRefused
from web.i18n import translator
from web.routes.http import Pages, family_router

MAX_NOTE = 4000
# The answer to each refusal: gone for good (410) when expired, a conflict when used or moved.
REFUSAL_STATUS = {"altered": 400, "expired": 410, "used": 409, "moved": 409}
# The state a link's action needs.
NEEDS = {"ack": ("open",), "resolve": ("open", "acknowledged")}


class LinkPages:
    """The handlers of this family, bound to the console's ``Pages`` and the collector's links."""

    def __init__(self, pages: Pages, links: ActionLinks) -> None:
        self.pages = pages
        self.console = pages.console
        self.links = links

    def _show(self, request: Request, name: str, status: int, **context: Any) -> Response:
        # Both languages on every page: whoever opens a link may have no language cookie.
        both = {"t_vi": translator("vi"), "t_en": translator("en")}
        return self.pages.page(request, name, None, status, **both, **context)

    def _refused(self, request: Request, exc: LinkRefused) -> Response:
        return self._show(
            request, "link_refused.html", REFUSAL_STATUS[exc.reason], reason=exc.reason
        )

    async def _ticket(self, claim: LinkClaim) -> dict[str, Any] | None:
        try:
            return await run_in_threadpool(tickets.get_ticket, self.console.engine, claim.ticket_id)
        except TicketNotFound:
            return None

    async def link_page(self, request: Request, token: str) -> Response:
        """GET /a/{token}: what the link would do, and a button to do it."""
        now = self.console.clock.now()
        try:
            claim = await run_in_threadpool(self.links.check, self.console.engine, token, now)
        except LinkRefused as exc:
            return self._refused(request, exc)
        ticket = await self._ticket(claim)
        if ticket is None:
            return self._refused(request, LinkRefused("altered"))
        if ticket["state"] not in NEEDS[claim.action]:
            return self._show(
                request, "link_done.html", 409, ticket=ticket, claim=claim, done=False
            )
        return self._show(
            request, "link.html", 200, ticket=ticket, claim=claim, token=token, max_note=MAX_NOTE
        )

    async def link_use(self, request: Request, token: str) -> Response:
        """POST /a/{token}: do what the link says, once."""
        form = await request.form()
        raw = form.get("note")
        note = raw.strip()[:MAX_NOTE] if isinstance(raw, str) else ""
        desk, now = self.console.desk, self.console.clock.now()
        if desk is None:
            return self._refused(request, LinkRefused("altered"))
        try:
            claim = await run_in_threadpool(
                use_link, self.links, self.console.engine, desk, token, note, now
            )
        except LinkRefused as exc:
            return self._refused(request, exc)
        except TicketNotFound:
            return self._refused(request, LinkRefused("altered"))
        except TicketTransition:
            claim = self.links.read(token)
            ticket = await self._ticket(claim)
            return self._show(
                request, "link_done.html", 409, ticket=ticket, claim=claim, done=False
            )
        ticket = await self._ticket(claim)
        return self._show(request, "link_done.html", 200, ticket=ticket, claim=claim, done=True)


def router(pages: Pages, links: ActionLinks) -> APIRouter:
    """The answer links' routes."""
    handlers = LinkPages(pages, links)
    routes = family_router()
    routes.add_api_route("/a/{token}", handlers.link_page, methods=["GET"])
    routes.add_api_route("/a/{token}", handlers.link_use, methods=["POST"])
    return routes
