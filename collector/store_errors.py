"""The state store down or full is the collector's trouble, not the caller's: 503, retry later.

PostgreSQL restarted or its connections terminated, SQLite's disk full or its file unreadable:
the driver raises an OperationalError (or InterfaceError on a closed connection). Unhandled it
would be a 500 that agents and scripts take for a bug; answered 503 with Retry-After, agents
keep the batch in their spool and resend it (nothing was acknowledged, so nothing is lost).
The pool (pre-ping on PostgreSQL) replaces dead connections, so service resumes by itself.

/metrics keeps answering during the outage: the parts read from the store are left out, the
process's own instruments (ingest answers, queue depth, time-series backlog) stay, and
``cm_store_up`` says 0. Answered 503 instead, the scraper would see the collector itself as down
exactly when its counters explain what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
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


def note_unavailable(method: str, path: str, exc: BaseException, answers: Counter | None) -> None:
    """Log (the driver's text only as an extra field) and count one 503 answer to a request."""
    log.warning(
        "state store unavailable: %s %s: %s",
        method,
        path,
        exc.__class__.__name__,
        extra={"error": str(getattr(exc, "orig", exc))[:300]},
    )
    if answers is not None:
        answers.inc()


def install(app: FastAPI, answers: Counter | None = None) -> None:
    """Answer store outages on every route with 503 + Retry-After; log and count them."""

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        note_unavailable(request.method, request.url.path, exc, answers)
        return unavailable_response()

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)


class StoreProbe(Collector):
    """``cm_store_up``: whether the state store answered a trivial query at this scrape."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from querying the store.
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            up = 1.0
        except UNAVAILABLE:
            up = 0.0
        yield GaugeMetricFamily(
            "cm_store_up",
            "1 if the state store answered at this scrape, else 0 (Kho dữ liệu hoạt động).",
            value=up,
        )


class WithoutStore(Collector):
    """A collector that reads the store, left out of a scrape while the store is unavailable."""

    def __init__(self, inner: Collector, what: str) -> None:
        self._inner = inner
        self._what = what

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            # Materialised first: a family half yielded before the failure would be a lie.
            families = list(self._inner.collect())
        except UNAVAILABLE as exc:
            _left_out(self._what, exc)
            return
        yield from families


def render_without_store(render: Callable[[], bytes], what: str) -> bytes:
    """``render()``, or nothing while the store is unavailable (the scrape goes on)."""
    try:
        return render()
    except UNAVAILABLE as exc:
        _left_out(what, exc)
        return b""


def _left_out(what: str, exc: BaseException) -> None:
    log.warning(
        "state store unavailable: %s left out of /metrics: %s",
        what,
        exc.__class__.__name__,
        extra={"error": str(getattr(exc, "orig", exc))[:300]},
    )
