"""Security headers on every answer of the collector: the JSON API, /metrics, health, docs.

A pure ASGI middleware (it sees each response's start and adds what is missing; a header a route
set itself wins). What it adds, after OWASP's REST and HTTP-headers cheat sheets:

* every answer: ``X-Content-Type-Options: nosniff`` (a browser never runs JSON or metrics text as
  a script or page), ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``;
* answers that are not HTML: ``Content-Security-Policy: default-src 'none'; frame-ancestors
  'none'`` (nothing in them may load or be framed). HTML pages keep their own policy: the console
  and the ``/docs`` page (``collector/docs_ui.py``) set ``default-src 'self'``;
* ``/api/`` answers without a ``Cache-Control``: ``no-store``, because they carry tokens
  (enrolment), tickets and the register, which no shared cache may keep.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
NOT_HTML_CSP = b"default-src 'none'; frame-ancestors 'none'"
API_PREFIX = "/api/"


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response of ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; complete the headers of the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith(API_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(list(message.get("headers", [])), api)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(
    headers: list[tuple[bytes, bytes]], api: bool
) -> list[tuple[bytes, bytes]]:
    """``headers`` (raw ASGI pairs) plus each security header they do not already carry."""
    present = {name.lower() for name, _ in headers}
    added = [(name, value) for name, value in ALWAYS if name not in present]
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    if b"content-security-policy" not in present and not content_type.startswith(b"text/html"):
        added.append((b"content-security-policy", NOT_HTML_CSP))
    if api and b"cache-control" not in present:
        added.append((b"cache-control", b"no-store"))
    return headers + added


def install(app: Starlette) -> None:
    """Add the middleware to ``app`` (before it starts), as ``store_errors.install`` does."""
    app.add_middleware(SecurityHeaders)
