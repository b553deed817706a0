"""The collector's settings: defaults < TOML file < environment (COMMUNE_MONITOR_*) < CLI.

Settings are nested by concern (``influx``, ``alerts``, ``smtp``, ``web``, ``http``, ``ingest``,
``budgets``: ``collector.settings_sections``); every one keeps its flat name
too, so ``COMMUNE_MONITOR_SMTP_HOST``, ``smtp_host = "..."`` in a TOML file and
``load_settings(smtp_host=...)`` mean ``smtp.host`` (as does a ``[smtp]`` table with ``host``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from collector.settings_sections import (
    AlertsSettings,
    BudgetSettings,
    HttpSettings,
    InfluxSettings,
    IngestSettings,
    SmtpSettings,
    WebSettings,
    _Section,
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
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a scraper must send for /metrics (it lists every agent and "
        "device of the province). Default: none, /metrics is open (keep it on a trusted network).",
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

    influx: InfluxSettings = Field(
        default_factory=lambda: InfluxSettings(),
        description="The time-series sink (history through influxdb-client).",
    )
    alerts: AlertsSettings = Field(
        default_factory=lambda: AlertsSettings(),
        description="Alert rules, routing, central systems and their timers.",
    )
    smtp: SmtpSettings = Field(
        default_factory=lambda: SmtpSettings(), description="The relay for ticket e-mail."
    )
    web: WebSettings = Field(default_factory=lambda: WebSettings(), description="The web console.")
    http: HttpSettings = Field(
        default_factory=lambda: HttpSettings(), description="Bounds of every HTTP request."
    )
    ingest: IngestSettings = Field(
        default_factory=lambda: IngestSettings(),
        description="Validation of report batches: inline or in the worker, and its bounds.",
    )
    budgets: BudgetSettings = Field(
        default_factory=lambda: BudgetSettings(),
        description="Devices and series one agent and one commune may report.",
    )

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        return nest_flat_names(data) if isinstance(data, Mapping) else data

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied; flat section names (``smtp_host``) change the
        section's field, as everywhere else."""
        if update:
            nested = nest_flat_names(update)
            for section in _SECTIONS:
                if isinstance(nested.get(section), dict):
                    nested[section] = getattr(self, section).model_copy(update=nested[section])
            update = nested
        return super().model_copy(update=update, deep=deep)

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
        # Each source's flat names are nested before the sources are merged, so that a later
        # source's flat name never beats an earlier one's table (the environment beats the file).
        return (
            _Nested(init_settings),
            env_settings,
            _FlatEnvironment(settings_cls),
            _NestedToml(settings_cls),
        )


_SECTIONS: dict[str, type[_Section]] = {
    "influx": InfluxSettings,
    "alerts": AlertsSettings,
    "smtp": SmtpSettings,
    "web": WebSettings,
    "http": HttpSettings,
    "ingest": IngestSettings,
    "budgets": BudgetSettings,
}
ENV_PREFIX = "COMMUNE_MONITOR_"


def nest_flat_names(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"smtp_host": h}`` → ``{"smtp": {"host": h}}`` for every section's fields; other keys
    (and a section given as a table) are kept, the flat name winning over the table's."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        section, _, name = key.partition("_")
        model = _SECTIONS.get(section)
        if model is not None and name in model.model_fields:
            table = out.setdefault(section, {})
            if isinstance(table, dict):
                table[name] = value
            continue
        if key in _SECTIONS and isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = {**value, **out[key]}
        else:
            out[key] = value
    return out


class _Nested(PydanticBaseSettingsSource):
    """Another source, its flat section names nested (:func:`nest_flat_names`)."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self._source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return nest_flat_names(self._source())


class _NestedToml(TomlConfigSettingsSource):
    """The TOML file, its flat section names nested (:func:`nest_flat_names`)."""

    def __call__(self) -> dict[str, Any]:
        return nest_flat_names(super().__call__())


class _FlatEnvironment(PydanticBaseSettingsSource):
    """``COMMUNE_MONITOR_<SECTION>_<NAME>`` variables as the section's field (the names the
    settings had before they were nested; pydantic-settings itself reads only the top level)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for section, model in _SECTIONS.items():
            for name in model.model_fields:
                value = os.environ.get(f"{ENV_PREFIX}{section}_{name}".upper())
                if value is not None:
                    found.setdefault(section, {})[name] = value
        return found


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
