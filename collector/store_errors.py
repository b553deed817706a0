"""The state store down or full is the collector's trouble, not the caller's: 503, retry later.

PostgreSQL restarted or its connections terminated, SQLite's disk full or its file unreadable:
the driver raises an OperationalError (or InterfaceError on a closed connection). Unhandled it
would be a 500 that agents and scripts take for a bug; answered 503 with Retry-After, agents
keep the batch in their spool and resend it (nothing was acknowledged, so nothing is lost).
The pool (pre-ping on PostgreSQL) replaces dead connections, so service resumes by itself.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = (OperationalError, InterfaceError)
MESSAGE = (
    "Kho dữ liệu tạm thời không dùng được, chưa lưu gì; hãy gửi lại sau. / "
    "The state store is unavailable; nothing was stored, retry later."
)


def is_unavailable(exc: BaseException) -> bool:
    """True for store errors that a retry can cure (connection lost, disk full, locked)."""
    return isinstance(exc, UNAVAILABLE)


def unavailable_response() -> JSONResponse:
    """The 503 answer, without the driver's text (it can name hosts, users and paths)."""
    return JSONResponse(
        {"detail": MESSAGE, "field": None},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install(app: FastAPI) -> None:
    """Answer store outages on every route with 503 + Retry-After, and log them once."""

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning(
            "state store unavailable: %s %s: %s",
            request.method,
            request.url.path,
            exc.__class__.__name__,
            extra={"error": str(getattr(exc, "orig", exc))[:300]},
        )
        return unavailable_response()

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)
