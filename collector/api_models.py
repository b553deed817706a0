"""The collector API's request and answer models, and how a refusal is answered."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from collector import agents
from collector.errors import CollectorError, http_status
from collector.ingest_http import error_body, error_headers


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
    refusals: int = Field(
        default=0, description="Reports refused past a budget or for another agent's device"
    )
    last_refusal_at: str | None = None
    last_refusal: str | None = None


class BudgetUse(BaseModel):
    """One budget: what the agent (or its commune) uses and the bound."""

    used: int
    budget: int


class AgentDetail(AgentSummary):
    """An agent with its use of the budgets (``settings.budgets``), as the store holds it."""

    devices: BudgetUse
    sample_names: BudgetUse
    series: BudgetUse
    largest_sample_name: str | None
    largest_sample_name_series: BudgetUse


class ErrorBody(BaseModel):
    """Every 4xx answer: what is wrong and, where it applies, which field; for reports refused
    for good, the budget (or ``device_owner``) and their sequence numbers."""

    detail: str
    field: str | None = None
    budget: str | None = None
    refused: list[int] | None = None


def error_response(exc: CollectorError) -> JSONResponse:
    status = http_status(exc)
    headers = {name.decode(): value.decode() for name, value in error_headers(exc, status)}
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


def summary(r: agents.AgentRow) -> dict[str, Any]:
    return {
        "agent_id": r.agent_id,
        "commune_code": r.commune_code,
        "hostname": r.hostname,
        "acked_seq": r.acked_seq,
        "last_seen_at": r.last_seen_at.isoformat() if r.last_seen_at else None,
        "revoked": r.revoked_at is not None,
        "clock_skew_seconds": r.clock_skew_seconds,
        "refusals": r.refusals,
        "last_refusal_at": r.last_refusal_at.isoformat() if r.last_refusal_at else None,
        "last_refusal": r.last_refusal,
    }
