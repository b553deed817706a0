"""Token checks run before a request's body is read.

FastAPI reads and validates a route's whole body before it solves the route's dependencies, so
the ticket API read a 100 MB body (+273 MB) before answering 401 (issue 20). This middleware,
in front of the routes, runs each API prefix's token check on the ``Authorization`` header alone
for every request that carries a body (POST, PUT, PATCH, DELETE): a refused token is answered
401 before a byte of the body is read. The routes' own dependencies check again (cheaply) when
the token passed. The console is not concerned: its pages check the session before they read a
form.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from collector.api_models import error_response
from collector.errors import CollectorError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A check of the Authorization header's value (None when absent): raises AuthError (or another
# CollectorError) to refuse; may be a coroutine function. Sync ones run in the thread pool.
TokenCheck = Callable[[str | None], object]


@dataclass(frozen=True)
class TokenRule:
    """The token check of the routes under ``prefix`` that take a body."""

    prefix: str
    check: TokenCheck
    methods: frozenset[str] = field(default=BODY_METHODS)


class TokenChecksFirst:
    """ASGI middleware running :class:`TokenRule` checks before the body is read."""

    def __init__(self, app: ASGIApp, rules: Sequence[TokenRule]) -> None:
        self.app = app
        self._rules = tuple(rules)

    def _rule(self, scope: Scope) -> TokenRule | None:
        path, method = scope["path"], scope["method"]
        for rule in self._rules:
            if method in rule.methods and path.startswith(rule.prefix):
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a bad token of a request with a body, or pass the request on."""
        rule = self._rule(scope) if scope["type"] == "http" else None
        if rule is not None:
            authorization = next(
                (v.decode("latin-1") for n, v in scope["headers"] if n == b"authorization"), None
            )
            try:
                if inspect.iscoroutinefunction(rule.check):
                    await rule.check(authorization)
                else:
                    await run_in_threadpool(rule.check, authorization)
            except CollectorError as exc:
                response = error_response(exc)
                # The body is not read: the connection cannot carry another request.
                response.headers["connection"] = "close"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
