"""The collector's HTTP API: thin routes that parse, call one service function and map our
errors to 4xx. Enrolment, reports, agent configurations, health and ``/metrics``; the features'
routers are added by the composition root (``province.app``)."""

import contextlib
import hmac
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from agent.wire import Ack, ReportBatch
from collector import (
    agents,
    docs_ui,
    security_headers,
    store_errors,
    validation,
)
from collector.api_agents import agents_router
from collector.api_models import ErrorBody, error_response
from collector.db import current_revision
from collector.errors import AuthError, CollectorError
from collector.gc_tuning import tuned_gc
from collector.ingest_http import PATH as REPORTS_PATH
from collector.ingest_http import (
    Receive,
    ReportsEndpoint,
    Scope,
    Send,
    bearer_token,
)
from collector.ratelimit import AgentRateLimiter
from collector.request_bounds import BodyBound, RequestBounds, head_refusal, refusal_messages
from collector.service import CollectorService
from collector.settings import Settings
from collector.token_first import TokenChecksFirst, TokenRule

API = "/api/v1"


class CollectorApp(FastAPI):
    """The collector's FastAPI application, with the ingest hot path answered before routing."""

    hot_path: ReportsEndpoint | None = None
    head_bounds: tuple[int, int] = (100, 8192)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch POST /api/v1/reports to the hot path, everything else to FastAPI (whose
        middleware applies the request bounds, collector/request_bounds.py)."""
        if (
            self.hot_path is not None
            and scope["type"] == "http"
            and scope["path"] == REPORTS_PATH
            and scope["method"] == "POST"
        ):
            refusal = head_refusal(scope["headers"], *self.head_bounds)
            if refusal is not None:
                for message in refusal_messages(refusal):
                    await send(message)
                return
            await self.hot_path(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _reports_operation() -> dict[str, Any]:
    """The OpenAPI operation of POST /api/v1/reports (served by collector/ingest_http.py)."""
    error = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    }
    reasons = {
        "400": "Malformed JSON or gzip, bytes after the gzip stream, or the client closed the "
        "connection mid-body",
        "401": "Missing, unknown, revoked or replaced agent token",
        "403": "The batch names another agent than the token's",
        "408": "The body did not arrive within ingest_body_timeout_seconds",
        "409": "A sequence far below the acknowledged one (a reinstalled agent must enrol again), "
        "or reports naming a device another agent owns (budget 'device_owner', their sequences "
        "in 'refused')",
        "413": "Body too large, as sent or after gunzip, or more JSON objects than "
        "ingest.max_objects_per_batch",
        "415": "Unsupported Content-Encoding",
        "422": "A field of the batch is invalid (named in 'field'), or reports past a budget "
        "(named in 'budget', their sequences in 'refused')",
        "429": "The agent exceeds its rate limit, or has a large batch in validation already "
        "(Retry-After)",
        "431": "Too many request headers or one too long (http.max_headers, http.max_header_bytes)",
        "503": "The store is unavailable, the journal queue or the validation queue is full "
        "(Retry-After)",
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


def admin_guard(settings: Settings) -> Callable[[str | None], None]:
    """A FastAPI dependency that admits only the configured admin token (401 otherwise)."""

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        token = bearer_token(authorization)
        expected = settings.admin_token.get_secret_value() if settings.admin_token else None
        if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
            raise AuthError("admin token required")

    return require_admin


def create_collector_app(
    service: CollectorService,
    large_body_routes: Sequence[str] = (),
    token_rules: Sequence[TokenRule] = (),
) -> CollectorApp:
    """The ASGI application of one collector: its own routes, error mapping and OpenAPI.

    ``large_body_routes`` (paths) take bodies up to ``max_body_bytes`` in
    ``ingest_body_timeout_seconds`` (the register upload); every other route's are bounded by
    the ``http`` settings. ``token_rules`` check the features' tokens before their bodies are
    read, as the agents' admin routes are here.
    """

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
        # Swagger UI from the installed package under a CSP (collector/docs_ui.py), no CDN.
        docs_url=None,
        redoc_url=None,
    )
    settings = service.settings
    engine = service.engine
    http = settings.http
    app.head_bounds = (http.max_headers, http.max_header_bytes)
    large = BodyBound(
        settings.max_body_bytes, settings.ingest_body_timeout_seconds, "max_body_bytes"
    )

    @app.exception_handler(CollectorError)
    async def _collector_error(_request: Request, exc: CollectorError) -> JSONResponse:
        return error_response(exc)

    # A store outage (PostgreSQL gone, disk full) is a 503 with Retry-After, never a 500.
    store_errors.install(app, service.metrics.store_unavailable)
    # Head, body and time bounds of every request (collector/request_bounds.py), inside the
    # security headers so that their refusals carry them too.
    app.add_middleware(
        RequestBounds,
        http=http,
        large_routes={path: large for path in (REPORTS_PATH, *large_body_routes)},
        on_refusal=lambda bound: service.metrics.request_bounds.labels(bound=bound).inc(),
    )
    # Token checks before any body is read (collector/token_first.py), inside the bounds.
    require_admin = admin_guard(settings)
    app.add_middleware(
        TokenChecksFirst, rules=[TokenRule(f"{API}/agents/", require_admin), *token_rules]
    )
    # 422 answers name the field with a short excerpt of the input, never an echo of it.
    validation.install(app)
    # nosniff, no framing, no referrer on every answer (collector/security_headers.py).
    security_headers.install(app)
    docs_ui.install(app)

    token_cache = agents.TokenCache(engine)
    limiter = AgentRateLimiter(settings.ingest_rate_per_agent, settings.ingest_burst_per_agent)
    # The agents' POST /reports, nearly all of the traffic, skips the framework (see
    # collector/ingest_http.py); the OpenAPI document still describes it.
    app.hot_path = ReportsEndpoint(service, token_cache, limiter)

    _health_routes(app, engine)
    app.include_router(agents_router(service, require_admin))
    _metrics_route(app, service)
    _install_openapi(app)
    return app


def _health_routes(app: FastAPI, engine: Engine) -> None:
    """/healthz (the process is alive) and /readyz (its store answers)."""

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
            return current_revision(engine)

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


def _metrics_route(app: FastAPI, service: CollectorService) -> None:
    """/metrics, behind ``metrics_token`` when it is set."""
    settings = service.settings
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get(
        "/metrics",
        tags=["metrics"],
        response_class=Response,
        responses={401: {"model": ErrorBody}},
    )
    async def metrics_endpoint(
        authorization: Annotated[
            str | None,
            Header(description="Bearer <metrics_token>, when the setting is made"),
        ] = None,
        devices: Annotated[
            bool,
            Query(
                description="false leaves out the cm_device_* families (a scraper that gets "
                "them from the time-series sink)."
            ),
        ] = True,
    ) -> Response:
        """Prometheus exposition of current state and the collector's own metrics."""
        if metrics_token is not None:
            # It lists every agent and device of the province: a scraper shows its token.
            token = bearer_token(authorization)
            if not hmac.compare_digest(token.encode(), metrics_token.encode()):
                raise AuthError("metrics token required")
        payload = await run_in_threadpool(service.exposition, devices)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)


def _install_openapi(app: FastAPI) -> None:
    """The OpenAPI document, with the hot path and both 422 shapes described."""

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
