"""The agents' API: enrolment, their configuration, and the admins' view of them (budgets,
refused reports, revocation). Mounted by ``collector.api``."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response
from fastapi.concurrency import run_in_threadpool

from agent.agent_config import AgentConfig
from collector import agent_configs, agents, budgets
from collector.agents import API_ADMIN_ACTOR, AgentIdentity
from collector.api_models import (
    AgentDetail,
    AgentSummary,
    EnrolRequest,
    EnrolResponse,
    ErrorBody,
    summary,
)
from collector.errors import Forbidden, NotFound
from collector.ingest_http import bearer_token
from collector.service import CollectorService

API = "/api/v1"


def agents_router(service: CollectorService, require_admin: Callable[..., None]) -> APIRouter:
    """The routes of ``/api/v1/enrol`` and ``/api/v1/agents``."""
    router = APIRouter()
    engine, clock = service.engine, service.clock

    async def agent_identity(
        authorization: Annotated[str | None, Header()] = None,
    ) -> AgentIdentity:
        return await run_in_threadpool(agents.authenticate, engine, bearer_token(authorization))

    @router.post(
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

    @router.get(
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

    _admin_routes(router, service, require_admin)
    return router


def _admin_routes(
    router: APIRouter, service: CollectorService, require_admin: Callable[..., None]
) -> None:
    """An agent's configuration, the list of agents, one agent's budgets, revocation."""
    engine, clock, settings = service.engine, service.clock, service.settings

    @router.put(
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
            lambda: agent_configs.set_config(
                engine, agent_id, config, clock.now(), actor=API_ADMIN_ACTOR
            )
        )
        return Response(
            stored.body, media_type="application/json", headers={"ETag": f'"{stored.etag}"'}
        )

    @router.get(f"{API}/agents", response_model=list[AgentSummary], tags=["admin"])
    async def list_agents(
        _admin: Annotated[None, Depends(require_admin)], commune_code: str | None = None
    ) -> list[dict[str, Any]]:
        """Every enrolled agent, with its refused reports."""
        rows = await run_in_threadpool(agents.list_agents, engine, commune_code)
        return [summary(r) for r in rows]

    @router.get(
        f"{API}/agents/{{agent_id}}",
        response_model=AgentDetail,
        tags=["admin"],
        responses={404: {"model": ErrorBody}},
    )
    async def get_agent(
        agent_id: Annotated[str, Path(max_length=64)],
        _admin: Annotated[None, Depends(require_admin)],
    ) -> dict[str, Any]:
        """One agent: its use of the budgets and its last refused report."""

        def read() -> dict[str, Any]:
            row = next((r for r in agents.list_agents(engine) if r.agent_id == agent_id), None)
            if row is None:
                raise NotFound(f"no agent {agent_id!r}")
            return _detail(row, budgets.agent_usage(engine, agent_id, row.commune_code))

        return await run_in_threadpool(read)

    def _detail(row: agents.AgentRow, use: budgets.Usage) -> dict[str, Any]:
        limits = settings.budgets
        name, name_series = use.largest_name or (None, 0)
        return {
            **summary(row),
            "devices": {"used": use.devices, "budget": limits.devices_per_agent},
            "sample_names": {"used": use.sample_names, "budget": limits.sample_names_per_agent},
            "series": {"used": use.series, "budget": limits.series_per_agent},
            "largest_sample_name": name,
            "largest_sample_name_series": {
                "used": name_series,
                "budget": limits.series_per_name_per_agent,
            },
        }

    @router.post(f"{API}/agents/{{agent_id}}/revoke", status_code=204, tags=["admin"])
    async def revoke_agent(
        agent_id: str, _admin: Annotated[None, Depends(require_admin)]
    ) -> Response:
        """Revoke an agent's token at once."""
        await run_in_threadpool(
            lambda: agents.revoke(engine, agent_id, clock.now(), actor=API_ADMIN_ACTOR)
        )
        return Response(status_code=204)
