"""Enrolment and the agent's stored identity (agent id, bearer token, collector URL, commune).

The identity file is the agent's only secret. It is written atomically (temporary file, fsync,
rename) with mode 0600 on POSIX and an owner-only ACL on Windows, and its token is never logged.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
)

from agent.clock import Clock, SystemClock
from agent.errors import EnrolError, IdentityUnreadable, NotEnrolled
from agent.files import is_private, write_atomic
from agent.settings import check_server_url

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

ENROL_PATH = "/api/v1/enrol"


@lru_cache(maxsize=1)
def agent_version() -> str:
    """The installed version of the agent (``commune-monitor`` distribution)."""
    from importlib import metadata

    try:
        return metadata.version("commune-monitor")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class Identity(BaseModel):
    """Who this agent is to its collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str = Field(min_length=1, max_length=64)
    agent_token: SecretStr = Field(min_length=8)
    server_url: str
    commune_code: str = Field(min_length=1, max_length=10)
    hostname: str = Field(default="", max_length=200)
    enrolled_at: datetime
    ca_file: Path | None = Field(
        default=None, description="CA file pinned at enrolment; used until settings override it"
    )

    @field_validator("server_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_server_url(value)

    @field_serializer("agent_token", when_used="json")
    def _reveal(self, value: SecretStr) -> str:
        # Only ever serialised into the private identity file; repr and logs keep it masked.
        return value.get_secret_value()


def save_identity(path: Path, identity: Identity) -> None:
    """Write the identity file atomically, readable by its owner only."""
    write_atomic(path, identity.model_dump_json(indent=2).encode(), private=True)


def load_identity(path: Path) -> Identity:
    """Read the identity file; NotEnrolled when missing, IdentityUnreadable when unusable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotEnrolled(path) from None
    except PermissionError:
        raise IdentityUnreadable(
            f"cannot read {path}: permission denied; run as the service user or an administrator",
            path,
        ) from None
    except OSError as exc:
        raise IdentityUnreadable(f"cannot read {path}: {exc.strerror or exc}", path) from None
    try:
        identity = Identity.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise IdentityUnreadable(
            f"{path} is not a valid identity ({problems}); enrol again with --force", path
        ) from None
    if not is_private(path):
        # Someone loosened the mode (a backup restore, a careless chmod): tighten it again.
        log.warning("identity file was readable by others; restricting it", extra={"path": path})
        try:
            os.chmod(path, 0o600)
        except OSError as exc:  # another user's file: still usable, but say so
            log.warning("cannot restrict identity file", extra={"error": str(exc)})
    return identity


async def enrol(
    server_url: str,
    token: str,
    *,
    path: Path,
    hostname: str | None = None,
    ca_file: Path | None = None,
    verify: ssl.SSLContext | bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    http_timeout: float = 30.0,
) -> Identity:
    """Exchange a one-time enrolment token for an identity and store it at ``path``.

    ``ca_file`` (an absolute path) is stored with the identity so that ``run`` keeps pinning it.
    """
    # Only enrolment (a technician's one-off command) uses httpx; the service does not load it.
    import httpx

    try:
        server_url = check_server_url(server_url)
    except ValueError as exc:
        raise EnrolError(f"--server: {exc}", field="server") from None
    if len(token) < 8:
        raise EnrolError("--token: an enrolment token has at least 8 characters", field="token")
    hostname = hostname or socket.gethostname()
    clock = clock or SystemClock()
    async with httpx.AsyncClient(
        base_url=server_url, transport=transport, verify=verify, timeout=http_timeout
    ) as client:
        try:
            response = await client.post(
                ENROL_PATH,
                json={"token": token, "hostname": hostname[:200], "agent_version": agent_version()},
            )
        except httpx.TransportError as exc:
            raise EnrolError(
                f"cannot reach {server_url}: {exc.__class__.__name__}: {exc}"
            ) from None
    if response.status_code != 201:
        detail: str = response.text[:300]
        field: str | None = None
        try:
            body = response.json()
        except ValueError:
            body = None  # not JSON: a proxy or web server page; its text is the detail
        if isinstance(body, dict):
            detail = str(body.get("detail", detail))
            field = body.get("field") if isinstance(body.get("field"), str) else None
        raise EnrolError(
            f"the collector refused enrolment: HTTP {response.status_code}: {detail}",
            status=response.status_code,
            field=field,
        )
    try:
        answer = response.json()
        identity = Identity(
            agent_id=answer["agent_id"],
            agent_token=SecretStr(answer["agent_token"]),
            commune_code=answer["commune_code"],
            server_url=server_url,
            hostname=hostname[:200],
            enrolled_at=clock.now(),
            ca_file=ca_file,
        )
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise EnrolError(f"the collector's answer is not an enrolment: {exc}") from None
    save_identity(path, identity)
    log.info(
        "enrolled",
        extra={"agent_id": identity.agent_id, "commune_code": identity.commune_code},
    )
    return identity
