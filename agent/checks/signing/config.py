"""Settings of the ``signing`` check: which signing bridges, on which ports, with what timeouts.

The defaults are the two bridges the procedure software's web pages use, as found in their
public web libraries (third-party code, unverified; see docs/agent_checks.md):

- VNPT-CA Plugin: ``wss://…:{4433,4434,4435}/plugin``, tried in that order with 3 s each, as the
  plugin's own web library does (``vnpt-plugin.js`` also lists 9201 and 9202 in its ``ports``
  array, but its ``tryConnect`` only ever tries the first three);
- VGCA Sign Service: ``wss://127.0.0.1:8987`` (web apps open ``/SignXML``; any path upgrades).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.checks.base import CheckConfig
from agent.checks.common import NAME_PATTERN, distinct_ports, header_safe, loopback_only
from agent.wire import DeviceId


class SigningPlugin(BaseModel):
    """One signing bridge on this PC; its ports are tried in order until one answers right."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Label value, e.g. 'vnpt_ca', 'vgca'")
    protocol: Literal["vnpt_ca", "vgca"] = Field(
        description="vnpt_ca: checkPlugin (function 7) and getVersion (11); vgca: WebSocket open"
    )
    host: str = Field(default="127.0.0.1", description="localhost, 127.0.0.0/8 or ::1 only")
    ports: tuple[int, ...] = Field(min_length=1, max_length=8)
    path: str = Field(default="/", description="Path of the WebSocket upgrade request")
    tls: bool = Field(default=True, description="wss (the bridges' self-signed certificate)")
    origin: str | None = Field(default=None, description="Origin header, if the bridge wants one")
    domain: str = Field(
        default="localhost",
        max_length=253,
        description="vnpt_ca: the 'domain' field the web library puts in every message",
    )
    timeout_seconds: float = Field(
        default=3.0, gt=0, le=30, description="Per port: connect, TLS, upgrade and the answer"
    )

    @field_validator("host")
    @classmethod
    def _loopback(cls, value: str) -> str:
        return loopback_only(value, "the signing check")

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return distinct_ports(value)

    @field_validator("path", "origin", "domain")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        return header_safe(value)

    @model_validator(mode="after")
    def _path_starts_with_slash(self) -> SigningPlugin:
        if not self.path.startswith("/"):
            raise ValueError(f"path {self.path!r} must start with '/'")
        return self


DEFAULT_PLUGINS = (
    SigningPlugin(name="vnpt_ca", protocol="vnpt_ca", ports=(4433, 4434, 4435), path="/plugin"),
    SigningPlugin(name="vgca", protocol="vgca", ports=(8987,), path="/"),
)


class SigningConfig(CheckConfig):
    """Settings of the ``signing`` check; the defaults check both bridges of DOMAIN.md §3.2."""

    device_id: DeviceId | None = Field(default=None, description="The PC's device id")
    plugins: tuple[SigningPlugin, ...] = Field(default=DEFAULT_PLUGINS, max_length=8)
    version_timeout_seconds: float = Field(
        default=3.0, gt=0, le=30, description="vnpt_ca: wait this long for getVersion's answer"
    )

    @model_validator(mode="after")
    def _unique(self) -> SigningConfig:
        names = [p.name for p in self.plugins]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"plugins: duplicate names {', '.join(duplicates)}")
        return self
