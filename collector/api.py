"""The HTTP API: thin routes that parse, call one service function and map our errors to 4xx."""

import contextlib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from sqlalchemy import text

from agent.agent_config import AgentConfig
from agent.wire import Ack, ReportBatch
from alerts.api import alerts_router
from collector import agent_configs, agents, migrate, security_headers, store_errors, validation
from collector.agents import AgentIdentity
from collector.errors import AuthError, CollectorError, Forbidden, ReportRejected, http_status
from collector.gc_tuning import tuned_gc
from collector.ingest_http import PATH as REPORTS_PATH
from collector.ingest_http import (
    Receive,
    ReportsEndpoint,
    Scope,
    Send,
    bearer_token,
    error_headers,
)
from collector.ratelimit import AgentRateLimiter
from collector.service import CollectorService
from inventory.api import inventory_router
from web.wiring import web_routers

API = "/api/v1"


class EnrolRequest(BaseModel):
    """An agent asks to join with a one-time enrolment token."""

    token: str = Field(min_length=8, max_length=200)
    hostname: str = Field(default="", max_length=200)
    agent_version: str = Field(default="", max_length=50)


class EnrolResponse(BaseModel):
    """The agent's identity; keep the token secret, it is shown only once."""

    agent_id: str
    agent_token: str
    commune_code: str


class AgentSummary(BaseModel):
    """An agent as listed to admins."""

    agent_id: str
    commune_code: str
    hostname: str
    acked_seq: int
    last_seen_at: str | None
    revoked: bool
    clock_skew_seconds: float


class ErrorBody(BaseModel):
    """Every 4xx answer: what is wrong and, where it applies, which field."""

    detail: str
    field: str | None = None


def _error_response(exc: CollectorError) -> JSONResponse:
    status = http_status(exc)
    field = exc.field if isinstance(exc, ReportRejected) else None
    headers = {name.decode(): value.decode() for name, value in error_headers(exc, status)}
    return JSONResponse(
        ErrorBody(detail=str(exc), field=field).model_dump(), status_code=status, headers=headers
    )


class CollectorApp(FastAPI):
    """The collector's FastAPI application, with the ingest hot path answered before routing."""

    hot_path: ReportsEndpoint | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch POST /api/v1/reports to the hot path, everything else to FastAPI."""
        if (
            self.hot_path is not None
            and scope["type"] == "http"
            and scope["path"] == REPORTS_PATH
            and scope["method"] == "POST"
        ):
            await self.hot_path(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _reports_operation() -> dict[str, Any]:
    """The OpenAPI operation of POST /api/v1/reports (served by collector/ingest_http.py)."""
    error = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    }
    reasons = {
        "400": "Malformed JSON or gzip, or the client closed the connection mid-body",
        "401": "Missing, unknown, revoked or replaced agent token",
        "403": "The batch names another agent than the token's",
        "408": "The body did not arrive within ingest_body_timeout_seconds",
        "409": "A sequence far below the acknowledged one (a reinstalled agent must enrol again)",
        "413": "Body too large, as sent or after gunzip",
        "415": "Unsupported Content-Encoding",
        "422": "A field of the batch is invalid (named in 'field')",
        "429": "The agent exceeds its rate limit (Retry-After)",
        "503": "The store is unavailable or the journal queue is full (Retry-After)",
    }
    responses: dict[str, Any] = {
        "200": {
            "description": "Stored durably; the acknowledgement",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ack"}}},
        }
    }
    for code, reason in reasons.items():
        responses[code] = {"description": reason, **error}
    return {
        "tags": ["agents"],
        "summary": "Post Reports",
        "description": "Store a batch of reports durably and acknowledge the highest contiguous "
        "sequence.",
        "operationId": "post_reports",
        "parameters": [
            {
                "name": "authorization",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "title": "Authorization"},
                "description": "Bearer <agent token>",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ReportBatch"}}
            },
            "description": "A ReportBatch as JSON, optionally with Content-Encoding: gzip.",
        },
        "responses": responses,
    }


def create_app(service: CollectorService) -> FastAPI:
    """The ASGI application of one collector."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with service.running():
            with tuned_gc():
                yield

    app = CollectorApp(
        title="commune-monitor collector",
        version="1",
        summary="Ingest, state and metrics of one province's commune centres.",
        lifespan=lifespan,
    )
    settings = service.settings
    engine = service.engine
    clock = service.clock

    @app.exception_handler(CollectorError)
    async def _collector_error(_request: Request, exc: CollectorError) -> JSONResponse:
        return _error_response(exc)

    # A store outage (PostgreSQL gone, disk full) is a 503 with Retry-After, never a 500.
    store_errors.install(app, service.metrics.store_unavailable)
    # nosniff, no framing, no referrer on every answer (collector/security_headers.py).
    security_headers.install(app)

    token_cache = agents.TokenCache(engine)
    limiter = AgentRateLimiter(settings.ingest_rate_per_agent, settings.ingest_burst_per_agent)
    # The agents' POST /reports, nearly all of the traffic, skips the framework (see
    # collector/ingest_http.py); the OpenAPI document still describes it.
    app.hot_path = ReportsEndpoint(service, token_cache, limiter)

    async def agent_identity(
        authorization: Annotated[str | None, Header()] = None,
    ) -> AgentIdentity:
        return await run_in_threadpool(agents.authenticate, engine, bearer_token(authorization))

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        token = bearer_token(authorization)
        expected = settings.admin_token.get_secret_value() if settings.admin_token else None
        if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
            raise AuthError("admin token required")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": ErrorBody}})
    async def readyz() -> JSONResponse:
        """The store answers and its schema is current."""

        def probe() -> str | None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return migrate.current_revision(engine)

        try:
            revision = await run_in_threadpool(probe)
        except Exception as exc:  # noqa: BLE001 - readiness reports any store failure
            # The driver's text names hosts, ports and users: only its class leaves the process.
            return JSONResponse(
                {"detail": f"store unavailable ({exc.__class__.__name__})"}, status_code=503
            )
        if revision is None:
            return JSONResponse(
                {"detail": "store has no schema; run 'commune-monitor db upgrade'"},
                status_code=503,
            )
        return JSONResponse({"status": "ready", "schema": revision})

    @app.post(
        f"{API}/enrol",
        status_code=201,
        response_model=EnrolResponse,
        tags=["agents"],
        responses={401: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    )
    async def enrol(body: EnrolRequest) -> EnrolResponse:
        """Exchange a one-time enrolment token for an agent id and token."""
        result = await run_in_threadpool(
            agents.enrol, engine, body.token, body.hostname, body.agent_version, clock.now()
        )
        return EnrolResponse(
            agent_id=result.agent_id,
            agent_token=result.agent_token,
            commune_code=result.commune_code,
        )

    @app.get(
        f"{API}/agents/{{agent_id}}/config",
        response_model=AgentConfig,
        tags=["agents"],
        responses={304: {"description": "Not modified"}, 403: {"model": ErrorBody}},
    )
    async def get_config(
        agent_id: str,
        identity: Annotated[AgentIdentity, Depends(agent_identity)],
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The agent's check configuration, with an ETag for conditional polling."""
        if agent_id != identity.agent_id:
            raise Forbidden("an agent may read only its own configuration")
        stored = await run_in_threadpool(agent_configs.effective_config, engine, agent_id)
        etag = f'"{stored.etag}"'
        if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(stored.body, media_type="application/json", headers={"ETag": etag})

    @app.put(
        f"{API}/agents/{{agent_id}}/config",
        response_model=AgentConfig,
        tags=["admin"],
        responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
    )
    async def put_config(
        agent_id: str, config: AgentConfig, _admin: Annotated[None, Depends(require_admin)]
    ) -> Response:
        """Set an agent's configuration ("*" sets the default for all agents)."""
        stored = await run_in_threadpool(
            agent_configs.set_config, engine, agent_id, config, clock.now()
        )
        return Response(
            stored.body, media_type="application/json", headers={"ETag": f'"{stored.etag}"'}
        )

    @app.get(f"{API}/agents", response_model=list[AgentSummary], tags=["admin"])
    async def list_agents(
        _admin: Annotated[None, Depends(require_admin)], commune_code: str | None = None
    ) -> list[AgentSummary]:
        """Every enrolled agent."""
        rows = await run_in_threadpool(agents.list_agents, engine, commune_code)
        return [
            AgentSummary(
                agent_id=r.agent_id,
                commune_code=r.commune_code,
                hostname=r.hostname,
                acked_seq=r.acked_seq,
                last_seen_at=r.last_seen_at.isoformat() if r.last_seen_at else None,
                revoked=r.revoked_at is not None,
                clock_skew_seconds=r.clock_skew_seconds,
            )
            for r in rows
        ]

    @app.post(f"{API}/agents/{{agent_id}}/revoke", status_code=204, tags=["admin"])
    async def revoke_agent(
        agent_id: str, _admin: Annotated[None, Depends(require_admin)]
    ) -> Response:
        """Revoke an agent's token at once."""
        await run_in_threadpool(agents.revoke, engine, agent_id, clock.now())
        return Response(status_code=204)

    @app.get("/metrics", tags=["metrics"], response_class=Response)
    async def metrics_endpoint(
        devices: Annotated[
            bool,
            Query(
                description="false leaves out the cm_device_* families (a scraper that gets "
                "them from the time-series sink)."
            ),
        ] = True,
    ) -> Response:
        """Prometheus exposition of current state and the collector's own metrics."""
        payload = await run_in_threadpool(service.exposition, devices)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    # Routers of the other parts come after the core routes: Starlette tries routes in order,
    # and the agents' POST /reports (the hot path) should not be matched against every page.
    # The asset register for finance (issue 8), behind the same admin token.
    app.include_router(
        inventory_router(
            engine,
            clock,
            require_admin,
            max_upload_bytes=settings.max_body_bytes,
            journal_days=settings.journal_retention_days,
        )
    )
    # Tickets (issue 7): the admin token sees all, a vendor token its own tickets only.
    if service.alerting is not None:
        app.include_router(
            alerts_router(engine, clock, service.alerting.engine, settings.admin_token)
        )
    # The web console (issue 10): people log in with sessions; machines keep their tokens.
    for router in web_routers(service):
        app.include_router(router)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        batch_schema = ReportBatch.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(batch_schema.pop("$defs", {}))
        components["ReportBatch"] = batch_schema
        components["Ack"] = Ack.model_json_schema(ref_template="#/components/schemas/{model}")
        components.setdefault(
            "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        validation.document_validation_errors(schema)
        # After the line above: this route answers 422 with ErrorBody only, never FastAPI's shape.
        schema["paths"][REPORTS_PATH] = {"post": _reports_operation()}
        app.openapi_schema = schema
        return schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app
