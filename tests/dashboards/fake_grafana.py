"""A small stand-in for Grafana's HTTP API on loopback, recording every request.

Real Grafana cannot be installed here. This serves the endpoints the push command uses, with
the status codes and body shapes of Grafana's documented API (folders, data sources by uid,
dashboards by uid and /api/dashboards/db), and keeps what was pushed so idempotency shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.services import free_port


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    body: Any
    authorization: str


@dataclass
class GrafanaState:
    """What the fake Grafana holds."""

    token: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    folder_of: dict[str, str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def writes(self) -> list[Recorded]:
        """The requests that changed something."""
        return [r for r in self.requests if r.method != "GET"]


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"message": f"{what} not found"}, status_code=404)


def create_app(state: GrafanaState) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record_and_authenticate(request: Request, call_next: Any) -> Any:
        raw = await request.body()
        body = None
        if raw:
            import json

            body = json.loads(raw)
        auth = request.headers.get("authorization", "")
        state.requests.append(Recorded(request.method, request.url.path, body, auth))
        if auth != f"Bearer {state.token}":
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        return await call_next(request)

    @app.get("/api/folders/{uid}")
    async def get_folder(uid: str) -> Any:
        return state.folders.get(uid) or _not_found("folder")

    @app.post("/api/folders")
    async def create_folder(request: Request) -> Any:
        body = await request.json()
        if body["uid"] in state.folders:
            return JSONResponse({"message": "a folder with that uid exists"}, status_code=409)
        state.folders[body["uid"]] = {"id": len(state.folders) + 1, **body}
        return state.folders[body["uid"]]

    @app.get("/api/datasources/uid/{uid}")
    async def get_datasource(uid: str) -> Any:
        return state.datasources.get(uid) or _not_found("data source")

    @app.post("/api/datasources")
    async def create_datasource(request: Request) -> Any:
        body = await request.json()
        if body["uid"] in state.datasources:
            return JSONResponse({"message": "data source exists"}, status_code=409)
        state.datasources[body["uid"]] = {"id": len(state.datasources) + 1, **body}
        return {"message": "Datasource added", "datasource": state.datasources[body["uid"]]}

    @app.put("/api/datasources/uid/{uid}")
    async def update_datasource(uid: str, request: Request) -> Any:
        if uid not in state.datasources:
            return _not_found("data source")
        state.datasources[uid] = {"id": state.datasources[uid]["id"], **await request.json()}
        return {"message": "Datasource updated", "datasource": state.datasources[uid]}

    @app.get("/api/dashboards/uid/{uid}")
    async def get_dashboard(uid: str) -> Any:
        if uid not in state.dashboards:
            return _not_found("dashboard")
        return {
            "dashboard": state.dashboards[uid],
            "meta": {"folderUid": state.folder_of[uid], "slug": uid},
        }

    @app.post("/api/dashboards/db")
    async def save_dashboard(request: Request) -> Any:
        body = await request.json()
        dashboard = body["dashboard"]
        if body.get("folderUid") not in state.folders:
            return JSONResponse({"message": "folder not found"}, status_code=400)
        uid = dashboard["uid"]
        previous = state.dashboards.get(uid)
        if previous is not None and not body.get("overwrite"):
            return JSONResponse({"message": "version-mismatch"}, status_code=412)
        version = previous["version"] + 1 if previous else 1
        ident = previous["id"] if previous else len(state.dashboards) + 1
        state.dashboards[uid] = {**dashboard, "id": ident, "version": version}
        state.folder_of[uid] = body["folderUid"]
        return {"id": ident, "uid": uid, "status": "success", "version": version}

    return app


@contextmanager
def fake_grafana(token: str) -> Iterator[tuple[str, GrafanaState]]:
    """Serve a fake Grafana on a free loopback port; yields (base URL, state)."""
    state = GrafanaState(token=token)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "fake Grafana did not start"
        time.sleep(0.01)  # waiting for a real server thread to bind; no clock to advance
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(10)
