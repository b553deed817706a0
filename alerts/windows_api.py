"""HTTP routes of maintenance windows and silences (:mod:`alerts.windows`), admin token only.

``GET /api/v1/maintenance-windows`` lists the windows not over (``?include_past=true``: all);
``POST`` declares one (201); ``POST …/{id}/cancel`` ends one now. Every change is audited with the
caller as its author: the author is never taken from the request body.
"""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import SecretStr
from sqlalchemy import Engine

from agent.clock import Clock
from alerts import windows
from alerts.windows import WindowSpec
from collector.errors import AuthError

API = "/api/v1/maintenance-windows"
WindowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Window number")]


def windows_router(engine: Engine, clock: Clock, admin_token: SecretStr | None) -> APIRouter:
    """The maintenance-window routes."""
    router = APIRouter(prefix=API, tags=["maintenance"])

    def admin(authorization: Annotated[str | None, Header()] = None) -> str:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("missing Authorization: Bearer <token> header")
        expected = admin_token.get_secret_value() if admin_token else None
        token = authorization[7:].strip()
        if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
            raise AuthError("admin token required")
        return "admin-token"

    actor_dep = Depends(admin)

    @router.get("")
    async def list_windows(
        _actor: Annotated[str, actor_dep], include_past: bool = False
    ) -> list[dict[str, Any]]:
        """Windows not over yet, newest first (all of them with include_past)."""

        def read() -> list[dict[str, Any]]:
            with engine.connect() as conn:
                found = windows.current(conn, clock.now(), include_past=include_past)
                return [window.view() for window in found]

        return await run_in_threadpool(read)

    @router.post("", status_code=201)
    async def create_window(spec: WindowSpec, actor: Annotated[str, actor_dep]) -> dict[str, Any]:
        """Declare a maintenance window or silence; audited, with the caller as author."""

        def write() -> dict[str, Any]:
            with engine.begin() as conn:
                return windows.create(conn, spec, actor, clock.now()).view()

        return await run_in_threadpool(write)

    @router.post("/{window_id}/cancel")
    async def cancel_window(
        window_id: WindowId, actor: Annotated[str, actor_dep]
    ) -> dict[str, Any]:
        """End a window now (its problems raise tickets again from the next sweep)."""

        def write() -> dict[str, Any]:
            with engine.begin() as conn:
                return windows.cancel(conn, window_id, actor, clock.now()).view()

        return await run_in_threadpool(write)

    return router
