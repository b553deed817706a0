"""The central check configuration an agent fetches from the collector (GET /agents/{id}/config)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.checks import UnknownCheckError, validate_check_config
from agent.errors import ConfigRejected

DEFAULT_INTERVALS = {
    "host": 15.0,
    "http_probe": 60.0,
    "local_service": 60.0,
    "ping": 30.0,
    "signing": 60.0,
    "snmp": 60.0,
    # A fresh reader process each round; a token plugged in or out is seen within 10 minutes.
    "tokens": 600.0,
}


class CheckSpec(BaseModel):
    """One configured check: which check, how often, and its own options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str = Field(
        description="Check name: host, http_probe, local_service, ping, signing, snmp, tokens"
    )
    interval_seconds: float | None = Field(
        default=None, gt=0, le=86_400, description="How often it runs; default per check"
    )
    options: dict[str, Any] = Field(default_factory=dict, description="The check's own settings")

    @model_validator(mode="after")
    def _options_match_check(self) -> CheckSpec:
        try:
            validate_check_config(self.check, self.options)
        except UnknownCheckError as exc:
            raise ValueError(str(exc)) from None
        except ValidationError as exc:
            problems = "; ".join(
                f"options.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()
            )
            raise ValueError(f"check {self.check!r}: {problems}") from None
        return self

    @property
    def interval(self) -> float:
        """The effective interval in seconds."""
        return self.interval_seconds or DEFAULT_INTERVALS.get(self.check, 60.0)


class AgentConfig(BaseModel):
    """Everything an agent runs, keyed by a name unique within the agent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    heartbeat_seconds: float = Field(default=30.0, gt=0, le=3_600)
    checks: dict[str, CheckSpec] = Field(default_factory=dict)

    @field_validator("checks")
    @classmethod
    def _names(cls, value: dict[str, CheckSpec]) -> dict[str, CheckSpec]:
        for name in value:
            if not name or len(name) > 64:
                raise ValueError(f"check name {name!r} must be 1 to 64 characters")
        return value


def default_agent_config() -> AgentConfig:
    """What a freshly enrolled counter PC runs until an admin changes it.

    Every check here is safe on a clerk's PC: no PIN prompt, no window, nothing but loopback.
    ``signing`` asks the signing bridges what their own web pages ask (issue 23); ``tokens`` reads
    public objects of the USB tokens in a read-only session without logging in, in a process of
    its own, and reports itself unavailable where python-pkcs11 is not installed.
    """
    return AgentConfig(
        checks={
            "host": CheckSpec(check="host"),
            "signing": CheckSpec(check="signing"),
            "tokens": CheckSpec(check="tokens"),
        }
    )


def validation_problems(exc: ValidationError) -> list[str]:
    """Each error of ``exc`` as ``field.path: message``, as a rejection names them."""
    found = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in err["loc"]) or "(top)"
        found.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return found


def parse_central_config(raw: bytes | str, etag: str | None = None) -> AgentConfig:
    """Validate a central configuration; ConfigRejected names every bad field."""
    try:
        return AgentConfig.model_validate_json(raw)
    except ValidationError as exc:
        raise ConfigRejected(validation_problems(exc), etag) from None
