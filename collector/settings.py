"""The collector's settings: defaults < TOML file < environment (COMMUNE_MONITOR_*) < CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATA_DIR = Path("./commune-monitor-data")


class Settings(BaseSettings):
    """Everything the collector can be told; built once in main() and passed down."""

    model_config = SettingsConfigDict(env_prefix="COMMUNE_MONITOR_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Folder for the embedded SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the state store, e.g. "
        "postgresql+psycopg://user@host/db. Default: SQLite file in data_dir.",
    )
    sqlite_synchronous: str = Field(
        default="FULL",
        pattern="^(FULL|NORMAL)$",
        description="SQLite WAL durability: FULL survives power loss, NORMAL only process crashes.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port of the HTTP server.")
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="How users and agents reach this collector."
    )
    ssl_certfile: Path | None = Field(
        default=None,
        description="PEM certificate (chain) to serve HTTPS with; needs ssl_keyfile. Default: "
        "plain HTTP (only behind a TLS-terminating reverse proxy, see docs/security.md).",
    )
    ssl_keyfile: Path | None = Field(
        default=None, description="PEM private key of ssl_certfile (readable by the service only)."
    )
    province_code: str | None = Field(
        default=None, pattern=r"^\d{2}$", description="The province this collector serves."
    )
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token for admin API calls (agent configs, revocation)."
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="Largest request body accepted, as sent."
    )
    max_decompressed_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest body after gunzip (bomb guard)."
    )
    ingest_rate_per_agent: float = Field(
        default=5.0,
        ge=0,
        description="Report batches per second one agent may sustain (token bucket); beyond it "
        "the collector answers 429 with Retry-After and the batch stays in the agent's spool. "
        "0 turns the limit off.",
    )
    ingest_burst_per_agent: int = Field(
        default=50,
        ge=1,
        description="Batches one agent may send back to back before ingest_rate_per_agent "
        "applies (a spool flush after an outage).",
    )
    future_window_seconds: float = Field(
        default=300.0, ge=0, description="Reports measured further in the future are rejected."
    )
    clock_skew_tolerance_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Agent clocks off by more than this are corrected by the measured skew.",
    )
    sequence_window: int = Field(
        default=100_000,
        ge=1,
        description="Re-sent sequences within this distance below the ack are duplicates; "
        "further below is an error (a reset agent must re-enrol).",
    )
    heartbeat_seconds: float = Field(
        default=30.0, gt=0, description="Expected agent heartbeat; silence > 1.5x marks it down."
    )
    enrol_token_ttl_hours: float = Field(
        default=168.0, gt=0, description="How long an enrolment token stays usable."
    )
    group_commit_max: int = Field(
        default=256, ge=1, description="Most ingest requests committed in one transaction."
    )
    ingest_queue_max: int = Field(
        default=2048,
        ge=1,
        description="Most validated batches waiting for their journal commit; beyond it the "
        "collector answers 503 with Retry-After (the batch stays in the agent's spool).",
    )
    http_head_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest wait for a request's line and headers, from the connection opening "
        "or the previous answer; a later head gets 408 and the connection is closed.",
    )
    ingest_body_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait for a report batch's body once its headers arrived; slower "
        "bodies (a stalled link, a slow-loris client) get 408 and nothing is stored.",
    )
    device_stale_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Devices whose agent has been silent longer than this leave /metrics (their "
        "last-report time stays), so a scraper sees a cut commune's series end.",
    )
    malloc_tuning: bool = Field(
        default=True,
        description="On glibc, limit malloc to 2 arenas and a 128 KiB mmap threshold so freed "
        "memory returns to the system (a flat RSS under load); false leaves glibc's defaults, "
        "or your MALLOC_* environment variables, in force.",
    )
    run_processor: bool = Field(
        default=True,
        description="Consume the journal in this process (a lease keeps it to one process).",
    )
    journal_retention_days: float = Field(
        default=7.0, gt=0, description="Processed journal entries older than this are pruned."
    )

    influx_url: str | None = Field(
        default=None,
        description="InfluxDB 2/3 or VictoriaMetrics URL for history (line protocol, v2 write "
        "API), e.g. http://127.0.0.1:8428. Default: no time-series sink.",
    )
    influx_token: SecretStr | None = Field(
        default=None, description="Token for the time-series database (any value for VM)."
    )
    influx_org: str = Field(default="commune-monitor", description="InfluxDB organisation.")
    influx_bucket: str = Field(default="commune-monitor", description="InfluxDB bucket.")
    influx_batch_size: int = Field(
        default=5000, ge=1, description="Most points sent in one write request."
    )
    influx_flush_interval_seconds: float = Field(
        default=1.0, gt=0, description="Longest wait before a partial batch is sent."
    )
    influx_backlog_dir: Path | None = Field(
        default=None,
        description="Folder of points not yet written. Default: data_dir/tsdb-backlog.",
    )
    influx_backlog_max_bytes: int = Field(
        default=1024**3,
        ge=1024,
        description="Largest backlog on disk (compressed); when full, new points are dropped "
        "and counted in cm_tsdb_sink_dropped_samples_total.",
    )

    alerts_enabled: bool = Field(
        default=True, description="Evaluate alert rules and raise tickets (alerts/)."
    )
    alerts_rules_file: Path | None = Field(
        default=None, description="Alert rules YAML. Default: the bundled alerts/rules.yaml."
    )
    alerts_routing_file: Path | None = Field(
        default=None, description="Ticket routing YAML. Default: the bundled alerts/routing.yaml."
    )
    alerts_systems_file: Path | None = Field(
        default=None,
        description="Central systems YAML (which probe targets belong to which system, for one "
        "software_outage per system). Default: the bundled alerts/systems.yaml.",
    )
    alerts_sweep_seconds: float = Field(
        default=15.0, gt=0, description="How often silence, hold-down and SLA timers are checked."
    )
    alerts_notify_seconds: float = Field(
        default=10.0, gt=0, description="How often the notification outbox is sent."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP relay for ticket e-mail. Default: no e-mail."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP relay port.")
    smtp_sender: str = Field(
        default="commune-monitor@localhost", description="From address of ticket e-mail."
    )
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS with the relay.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if required.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")

    @model_validator(mode="after")
    def _windows_consistent(self) -> Settings:
        if self.max_decompressed_bytes < self.max_body_bytes:
            raise ValueError("max_decompressed_bytes must be at least max_body_bytes")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("ssl_certfile and ssl_keyfile must be given together")
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'commune-monitor.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from an optional TOML file, the environment and explicit overrides (CLI)."""
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if config_file is None:
        return Settings(**overrides)
    if not config_file.is_file():
        raise FileNotFoundError(f"configuration file {config_file} does not exist")
    bound = type(
        "FileSettings",
        (Settings,),
        {"model_config": SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})},
    )
    settings: Settings = bound(**overrides)
    return settings
