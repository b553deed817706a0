"""Administration: the users (create, disable; commune staff with their communes) and the audit
log."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from web import accounts
from web.accounts import Role, Session
from web.errors import AccountError
from web.routes.context import ADMIN_ROLES, PREFIX
from web.routes.http import Pages, family_router


class AccountPages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    async def _users_page(
        self, request: Request, session: Session, status: int = 200, error: str | None = None
    ) -> Response:
        engine = self.console.engine
        listed = await run_in_threadpool(accounts.list_users, engine)
        disabled = await run_in_threadpool(accounts.disabled_usernames, engine)
        return self.pages.page(
            request,
            "users.html",
            session,
            status,
            users=listed,
            disabled=disabled,
            roles=list(Role),
            owner_ids=sorted(self.console.owners),
            error=error,
        )

    async def users_list(self, request: Request) -> Response:
        """GET /users."""
        session = await self.pages.require(request, ADMIN_ROLES)
        return await self._users_page(request, session)

    def _create(self, form: dict[str, str], role: Role, actor: str) -> None:
        console = self.console
        accounts.create_user(
            console.engine,
            form.get("username", "").strip(),
            form.get("password", ""),
            role,
            console.clock.now(),
            owner=form.get("owner") or None,
            display_name=form.get("display_name", "").strip()[:200],
            known_owners=frozenset(console.owners) if console.routing else None,
            actor=actor,
            communes=accounts.parse_communes(form.get("communes", "")[:400]),
        )

    async def users_create(self, request: Request) -> Response:
        """POST /users: a new user; a bad field redraws the page with a 422 naming it."""
        session = await self.pages.require(request, ADMIN_ROLES)
        form = await self.pages.form_of(request, session)
        t = self.pages.t(request)
        try:
            role = Role(form.get("role", ""))
        except ValueError:
            message = t("bad_field", field="role", message=form.get("role", "")[:20])
            return await self._users_page(request, session, 422, message)
        try:
            await run_in_threadpool(self._create, form, role, session.user.username)
        except AccountError as exc:
            message = t("bad_field", field=exc.field, message=str(exc))
            return await self._users_page(request, session, 422, message)
        return RedirectResponse(f"{PREFIX}/users", status_code=303)

    async def users_disable(self, request: Request, username: str) -> Response:
        """POST /users/{name}/disable: no more logins, sessions ended (not oneself)."""
        session = await self.pages.require(request, ADMIN_ROLES)
        await self.pages.form_of(request, session)
        t = self.pages.t(request)
        if username == session.user.username:
            raise self.pages.fail(request, session, 409, t("cannot_disable_self"))
        try:
            await run_in_threadpool(
                accounts.disable_user,
                self.console.engine,
                username,
                session.user.username,
                self.console.clock.now(),
            )
        except AccountError:
            raise self.pages.fail(request, session, 404, t("not_found")) from None
        return RedirectResponse(f"{PREFIX}/users", status_code=303)

    async def audit_page(self, request: Request) -> Response:
        """GET /audit: the latest audit lines."""
        session = await self.pages.require(request, ADMIN_ROLES)
        lines = await run_in_threadpool(accounts.audit_log, self.console.engine)
        return self.pages.page(request, "audit.html", session, lines=lines)


def router(pages: Pages) -> APIRouter:
    """The administration routes."""
    handlers = AccountPages(pages)
    routes = family_router()
    routes.add_api_route("/users", handlers.users_list, methods=["GET"])
    routes.add_api_route("/users", handlers.users_create, methods=["POST"])
    routes.add_api_route("/users/{username}/disable", handlers.users_disable, methods=["POST"])
    routes.add_api_route("/audit", handlers.audit_page, methods=["GET"])
    return routes
