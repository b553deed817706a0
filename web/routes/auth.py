"""Logging in and out, the language switch, the stylesheet and the landing redirect."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from web import accounts
from web.accounts import Role
from web.client_address import client_address
from web.errors import LoginBusy, LoginRefused, TooManyAttempts
from web.i18n import LANGS
from web.render import STATIC
from web.routes.context import ANY_ROLE, HOME, PREFIX
from web.routes.http import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Pages,
    family_router,
    safe_next,
)


def home_of(role: Role) -> str:
    """Where a role lands after logging in (commune staff: their communes' tickets)."""
    return HOME.get(role, "/tickets")


class AuthPages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    async def stylesheet(self) -> Response:
        """The console's one stylesheet, cacheable for an hour."""
        css = (STATIC / "console.css").read_bytes()
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    async def switch_language(self, code: str, next: str | None = None) -> Response:
        """Remember the chosen language and go back to the page."""
        response = RedirectResponse(safe_next(next), status_code=303)
        if code in LANGS:
            self.pages.set_cookie(response, LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
        return response

    def login_page(
        self, request: Request, status: int = 200, error: str | None = None, username: str = ""
    ) -> Response:
        """The login form with a fresh double-submit CSRF token (cookie and hidden field)."""
        token = secrets.token_urlsafe(32)
        response = self.pages.page(
            request,
            "login.html",
            None,
            status,
            csrf_token=token,
            error=error,
            username=username,
            next=safe_next(request.query_params.get("next")),
        )
        self.pages.set_cookie(response, LOGIN_CSRF_COOKIE, token, samesite="strict", max_age=None)
        return response

    async def login_form(self, request: Request) -> Response:
        """GET /login."""
        return self.login_page(request)

    async def login_submit(self, request: Request) -> Response:
        """POST /login: check the form's token, then the password under the login limits."""
        console, t = self.console, self.pages.t(request)
        form = await request.form()
        posted = form.get("csrf_token")
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
        if not (
            isinstance(posted, str)
            and cookie
            and hmac.compare_digest(posted.encode(), cookie.encode())
        ):
            return self.pages.page(request, "error.html", None, 403, message=t("csrf_refused"))
        username = str(form.get("username", ""))
        password = str(form.get("password", ""))
        client = client_address(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
            console.trusted_proxies,
        )
        try:
            token = await run_in_threadpool(
                console.login_guard.login,
                console.engine,
                username,
                password,
                client,
                console.clock.now(),
            )
        except TooManyAttempts as exc:
            refused = self.login_page(
                request, 429, t("too_many_attempts", minutes=exc.minutes), username
            )
            refused.headers["Retry-After"] = str(exc.retry_after)
            return refused
        except LoginBusy as exc:
            busy = self.login_page(request, 503, t("login_busy"), username)
            busy.headers["Retry-After"] = str(exc.retry_after)
            return busy
        except LoginRefused:
            return self.login_page(request, 401, t("login_refused"), username)
        return await self._logged_in(token, str(form.get("next") or ""))

    async def _logged_in(self, token: str, target: str) -> Response:
        console = self.console
        session = await run_in_threadpool(
            accounts.session_for, console.engine, token, console.clock.now()
        )
        assert session is not None
        if not target.startswith(PREFIX + "/") or target.startswith(PREFIX + "/login"):
            target = PREFIX + home_of(session.user.role)
        response = RedirectResponse(safe_next(target), status_code=303)
        self.pages.set_cookie(
            response,
            SESSION_COOKIE,
            token,
            samesite="lax",
            max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
        return response

    async def logout(self, request: Request) -> Response:
        """POST /logout: end the session."""
        session = await self.pages.require(request, ANY_ROLE)
        await self.pages.form_of(request, session)
        token = request.cookies.get(SESSION_COOKIE, "")
        await run_in_threadpool(
            accounts.logout,
            self.console.engine,
            token,
            session.user.username,
            self.console.clock.now(),
        )
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    async def home(self, request: Request) -> Response:
        """GET /: each role's own first page."""
        session = await self.pages.require(request, ANY_ROLE)
        return RedirectResponse(PREFIX + home_of(session.user.role), status_code=303)


def router(pages: Pages) -> APIRouter:
    """The routes of logging in and out, language, stylesheet and landing."""
    handlers = AuthPages(pages)
    routes = family_router()
    routes.add_api_route("/static/console.css", handlers.stylesheet, methods=["GET"])
    routes.add_api_route("/lang/{code}", handlers.switch_language, methods=["GET"])
    routes.add_api_route("/login", handlers.login_form, methods=["GET"])
    routes.add_api_route("/login", handlers.login_submit, methods=["POST"])
    routes.add_api_route("/logout", handlers.logout, methods=["POST"])
    routes.add_api_route("/", handlers.home, methods=["GET"])
    return routes
