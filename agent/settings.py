"""The agent's local settings: defaults < TOML file < environment (COMMUNE_AGENT_*) < CLI options.

These are the few things a PC must know before it can reach the collector (where to keep its
state, how to trust the server). What to measure comes from the central configuration instead.

``AgentSettings`` is a plain frozen model; ``load_settings`` merges the sources with
pydantic-settings, imported only there. ``commune-agent run`` resolves the settings in the CLI
process and hands them to the service as JSON (``agent.service``), so the long-running process
never imports pydantic-settings and what it pulls in (dotenv, argparse, ~3.4 MiB resident).
"""

from __future__ import annotations

import os
import ssl
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.wire import MAX_REPORTS_PER_BATCH, DeviceId

MIB = 1024 * 1024


def _program_data() -> Path:
    # %ProgramData% is C:\ProgramData on every supported Windows; the variable may be unset
    # for a service started with a minimal environment.
    return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData"))


def default_data_dir() -> Path:
    """Where the identity, spool and state live: per-OS system location."""
    if sys.platform == "win32":
        return _program_data() / "commune-agent"
    return Path("/var/lib/commune-agent")


def default_config_file() -> Path:
    """The TOML settings file read when none is named: /etc or %ProgramData%."""
    if sys.platform == "win32":
        return _program_data() / "commune-agent" / "agent.toml"
    return Path("/etc/commune-agent/agent.toml")


def check_server_url(value: str) -> str:
    """An http(s) URL with a host and no credentials, without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password (the agent uses its token)")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    return value.strip().rstrip("/")


ENV_PREFIX = "COMMUNE_AGENT_"


class AgentSettings(BaseModel):
    """Everything a counter PC's agent can be told locally; built once in main() and passed down."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder of the identity (agent token), spool and state. Default "
        "/var/lib/commune-agent on Linux, %ProgramData%\\commune-agent on Windows.",
    )
    server_url: str | None = Field(
        default=None,
        description="Collector URL; overrides the one stored at enrolment (use after the "
        "collector moved).",
    )
    ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CA(s) to trust for the collector instead of the system "
        "store (pins a provincial CA); overrides the one given at enrolment.",
    )
    verify_tls: bool = Field(
        default=True,
        description="Verify the collector's TLS certificate. Turning it off lets anyone on the "
        "path read the agent token and forge configuration.",
    )
    spool_max_bytes: int = Field(
        default=200 * MIB,
        ge=1,
        description="Largest spool size (compressed reports); beyond it the oldest are dropped.",
    )
    spool_max_age_days: float = Field(
        default=14.0, gt=0, description="Reports older than this are dropped from the spool."
    )
    batch_size: int = Field(
        default=200,
        ge=1,
        le=MAX_REPORTS_PER_BATCH,
        description="Most reports per POST to the collector.",
    )
    config_poll_seconds: float = Field(
        default=300.0,
        ge=1,
        le=86_400,
        description="How often the central configuration is polled (conditional GET, ETag).",
    )
    send_delay_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="After a new report, wait this long so reports of the same moment go in "
        "one batch.",
    )
    check_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3_600,
        description="A check running longer than this (or its interval, if longer) is abandoned "
        "and reported as failed.",
    )
    http_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Timeout of one request to the collector."
    )
    stop_send_seconds: float = Field(
        default=5.0,
        gt=0,
        le=25,
        description="On a clean stop (service stop, shutdown, reboot, Ctrl+C), the longest the "
        "agent spends letting running checks finish and sending the spool, its goodbye included, "
        "before it exits; what is not acknowledged by then is sent at the next start. Keep it "
        "below the service manager's patience (systemd TimeoutStopSec=30 in the packaged unit; "
        "on Windows the few seconds a shutdown gives services).",
    )
    device_id: DeviceId | None = Field(
        default=None, description="This PC's device id in heartbeats; default: its host name."
    )
    log_level: str = Field(
        default="INFO",
        pattern="^(DEBUG|INFO|WARNING|ERROR)$",
        description="Logging level: DEBUG, INFO, WARNING or ERROR.",
    )

    @field_validator("server_url")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        return None if value is None else check_server_url(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def spool_path(self) -> Path:
        """The spool's SQLite file."""
        return self.data_dir / "spool.db"

    @property
    def identity_path(self) -> Path:
        """The identity file (holds the agent token; readable by the service user only)."""
        return self.data_dir / "identity.json"

    @property
    def state_path(self) -> Path:
        """Small JSON file of what ``status`` shows: last ack, last errors, config in force."""
        return self.data_dir / "state.json"

    @property
    def central_config_path(self) -> Path:
        """The last central configuration applied, so a restart during an outage keeps it."""
        return self.data_dir / "central-config.json"


def load_settings(config_file: Path | None = None, **overrides: Any) -> AgentSettings:
    """Settings from a TOML file (the named one, else the default one if present), the
    environment and explicit overrides (CLI options; None means not given)."""
    from pydantic_settings import (
        BaseSettings,
        PydanticBaseSettingsSource,
        SettingsConfigDict,
        TomlConfigSettingsSource,
    )

    overrides = {key: value for key, value in overrides.items() if value is not None}
    if config_file is None:
        default = default_config_file()
        config_file = default if default.is_file() else None
    elif not config_file.is_file():
        raise FileNotFoundError(f"settings file {config_file} does not exist")

    class SourcedAgentSettings(AgentSettings, BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX, extra="forbid", frozen=True, toml_file=config_file
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
            if config_file is not None:
                sources += (TomlConfigSettingsSource(settings_cls),)
            return sources

    merged = SourcedAgentSettings(**overrides)
    # A plain AgentSettings: what the service is handed as JSON validates into the same type.
    return AgentSettings.model_validate(dict(merged))


def tls_context(settings: AgentSettings, ca_file: Path | None = None) -> ssl.SSLContext:
    """The one TLS context of every request to the collector (enrolment, sends, config polls).

    The system's trust store (OpenSSL's default paths, ``SSL_CERT_FILE``; the Windows certificate
    store), or only the pinned CA file; with ``verify_tls`` off, no verification (a lab only).
    """
    if not settings.verify_tls:
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        return unverified
    pinned = settings.ca_file or ca_file
    if pinned is None:
        return ssl.create_default_context()
    if not pinned.is_file():
        raise FileNotFoundError(f"ca_file {pinned} does not exist")
    return ssl.create_default_context(cafile=str(pinned))
