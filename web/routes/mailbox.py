"""The demo's "Hộp thư" (issue 22): every e-mail the collector sent, by recipient, with the owner
it belongs to and the console users who read it, and its working answer links.

Mounted by ``commune-monitor demo`` only (its local mail sink writes the Maildir). Admins and
DOST see every box; a vendor technician sees their contract's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from web import accounts
from web.accounts import Role, Session
from web.mailbox import Mail
from web.routes.http import Pages, family_router

MAILBOX_ROLES = frozenset({Role.ADMIN, Role.DOST, Role.VENDOR})


@dataclass(frozen=True, slots=True)
class Box:
    """One recipient address: the owner whose channel it is, who reads it, what it got."""

    address: str
    owner_id: str | None
    owner_name: str
    readers: tuple[str, ...]
    mails: tuple[Mail, ...]


class MailboxPages:
    """The handlers of this family, bound to the console's ``Pages`` and the sink's reader."""

    def __init__(self, pages: Pages, read: Callable[[], list[Mail]]) -> None:
        self.pages = pages
        self.console = pages.console
        self.read = read

    def _owner_of(self) -> dict[str, tuple[str, str]]:
        """E-mail address → (owner id, name) from the routing's e-mail channels."""
        out: dict[str, tuple[str, str]] = {}
        for owner_id, owner in self.console.owners.items():
            for channel in owner.channels:
                if channel.type == "email":
                    out.setdefault(channel.to.lower(), (owner_id, owner.name_vi))
        return out

    def boxes(self, mails: list[Mail], session: Session) -> list[Box]:
        """The visitor's boxes: every one for admins and DOST, a vendor's own contract's."""
        owners = self._owner_of()
        users = accounts.list_users(self.console.engine)
        by_address: dict[str, list[Mail]] = {}
        for mail in mails:
            for address in mail.to:
                by_address.setdefault(address.lower(), []).append(mail)
        out = []
        for address, got in sorted(by_address.items()):
            owner_id, name = owners.get(address, (None, address))
            if session.user.role is Role.VENDOR and owner_id != session.user.owner:
                continue
            readers = tuple(u.username for u in users if owner_id and u.owner == owner_id)
            out.append(Box(address, owner_id, name, readers, tuple(got)))
        return out

    async def mailbox_page(self, request: Request, to: str | None = None) -> Response:
        """GET /mailbox: the boxes, and the messages of the chosen one (``?to=``)."""
        session = await self.pages.require(request, MAILBOX_ROLES)
        mails = await run_in_threadpool(self.read)
        boxes = await run_in_threadpool(self.boxes, mails, session)
        chosen = next((box for box in boxes if box.address == (to or "").lower()), None)
        if chosen is None and boxes:
            chosen = boxes[0]
        return self.pages.page(
            request, "mailbox.html", session, boxes=boxes, chosen=chosen, mailbox=True
        )


def router(pages: Pages, read: Callable[[], list[Mail]]) -> APIRouter:
    """The mailbox's route."""
    handlers = MailboxPages(pages, read)
    routes = family_router()
    routes.add_api_route("/mailbox", handlers.mailbox_page, methods=["GET"])
    return routes
