"""The HTTP plumbing every page family shares: security headers, the session check, the CSRF
check of posted forms, cookies and rendering a page or a refusal.

Access is decided server-side on every request: each handler names the roles that may see it
(``Pages.require``), and every POST carries the session's CSRF token (``Pages.form_of``; the
login form a double-submit cookie, since there is no session yet).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from alerts import windows
from web import accounts
from web.accounts import Role, Session
from web.errors import BadForm
from web.i18n import Lang, local_time, translator
from web.render import environment, render
from web.routes.context import PREFIX, Console

SESSION_COOKIE = "cm_session"
LANG_COOKIE = "cm_lang"
LOGIN_CSRF_COOKIE = "cm_login_csrf"

# On every console answer (pages, redirects, the stylesheet, XLSX downloads, refusals): no
# framing (clickjacking), no MIME sniffing, no full URL leaked to other sites, and nothing loaded
# from anywhere but the collector itself (the pages use no script; inline SVG charts, data: images).
SECURITY_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
}


class Stop(Exception):
    """Ends a handler early with a ready response (login redirect, 403, 404, 422...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ConsoleRoute(APIRoute):
    """Turns a ``Stop`` raised anywhere in a handler into its response; adds security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except Stop as stop:
                response = stop.response
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            # Downloads and redirects too; the stylesheet sets its own (public) caching.
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return guarded


def family_router() -> APIRouter:
    """An empty router for one page family: its paths below /web, out of the OpenAPI schema."""
    return APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


def lang_of(request: Request) -> Lang:
    """The language the visitor chose (cookie), Vietnamese by default."""
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "vi"


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this console, else the console's root (no open redirect:
    never an absolute or protocol-relative URL)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return PREFIX + "/"


class Pages:
    """Rendering, refusals, the session and the CSRF check, bound to one console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.env = environment()

    def t(self, request: Request) -> Callable[..., str]:
        """The translator of the visitor's language."""
        return translator(lang_of(request))

    def page(
        self,
        request: Request,
        name: str,
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """Template ``name`` rendered for this visitor."""
        if session is not None and "banners" not in context:
            context["banners"] = self._banners(request)
        html = render(
            self.env,
            name,
            lang_of(request),
            self.console.clock.now(),
            session=session,
            path=request.url.path,
            query=request.url.query,
            **context,
        )
        # Pages show tickets and the register to one person: no cache keeps them.
        headers = {"Cache-Control": "no-store", **SECURITY_HEADERS}
        return HTMLResponse(html, status_code=status, headers=headers)

    def _banners(self, request: Request) -> list[str]:
        """What a logged-in visitor must know before anything else: a maintenance window or a
        silence in force, a collector guard holding."""
        t = self.t(request)
        now = self.console.clock.now()
        out = []
        with self.console.engine.connect() as conn:
            current = windows.current(conn, now)
        for window in current:
            occurrence = window.occurrence(now)
            if occurrence is None:
                continue
            out.append(
                t(
                    f"banner_{window.spec.kind}",
                    id=window.id,
                    until=local_time(occurrence[1]),
                    reason=window.spec.reason,
                )
            )
        for why in self.console.active_guards().values():
            out.append(t("banner_guard", why=why))
        return out

    def fail(self, request: Request, session: Session | None, status: int, message: str) -> Stop:
        """The error page with ``status``, to raise."""
        return Stop(self.page(request, "error.html", session, status, message=message))

    def bad_form(self, request: Request, session: Session | None, exc: BadForm) -> Stop:
        """A 422 naming the bad field, to raise."""
        message = self.t(request)("bad_field", field=exc.field, message=exc.message)
        return self.fail(request, session, 422, message)

    async def require(self, request: Request, roles: frozenset[Role]) -> Session:
        """The visitor's session; a redirect to the login form without one, 403 for another
        role."""
        console = self.console
        session = await run_in_threadpool(
            accounts.session_for,
            console.engine,
            request.cookies.get(SESSION_COOKIE),
            console.clock.now(),
        )
        if session is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Stop(RedirectResponse(f"{PREFIX}/login?next={here}", status_code=303))
        if session.user.role not in roles:
            raise self.fail(request, session, 403, self.t(request)("forbidden"))
        return session

    async def form_of(self, request: Request, session: Session) -> dict[str, str]:
        """The posted form, refused with 403 unless it carries this session's CSRF token."""
        form = await request.form()
        token = form.get("csrf_token")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), session.csrf_token.encode()
        ):
            raise self.fail(request, session, 403, self.t(request)("csrf_refused"))
        return {key: value for key, value in form.items() if isinstance(value, str)}

    def set_cookie(
        self,
        response: Response,
        name: str,
        value: str,
        *,
        samesite: Literal["lax", "strict"],
        max_age: int | None,
    ) -> None:
        """A console cookie: HttpOnly, Secure unless told otherwise, scoped to /web."""
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            secure=self.console.secure_cookies,
            samesite=samesite,
            path=PREFIX,
        )
