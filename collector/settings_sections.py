"""The sections of the collector's settings (``Settings.influx``, ``.alerts``, ``.smtp``, ``.web``,
``.http``, ``.ingest``, ``.budgets``); ``collector.settings`` nests and loads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InfluxSettings(_Section):
    """The time-series sink: where history goes (``COMMUNE_MONITOR_INFLUX_*``)."""

    url: str | None = Field(
        default=None,
        description="InfluxDB 2/3 or VictoriaMetrics URL for history (line protocol, v2 write "
        "API), e.g. http://127.0.0.1:8428. Default: no time-series sink.",
    )
    token: SecretStr | None = Field(
        default=None, description="Token for the time-series database (any value for VM)."
    )
    org: str = Field(default="commune-monitor", description="InfluxDB organisation.")
    bucket: str = Field(default="commune-monitor", description="InfluxDB bucket.")
    batch_size: int = Field(
        default=5000, ge=1, description="Most points sent in one write request."
    )
    flush_interval_seconds: float = Field(
        default=1.0, gt=0, description="Longest wait before a partial batch is sent."
    )
    backlog_dir: Path | None = Field(
        default=None,
        description="Folder of points not yet written. Default: data_dir/tsdb-backlog.",
    )
    backlog_max_bytes: int = Field(
        default=1024**3,
        ge=1024,
        description="Largest backlog on disk (compressed); when full, new points are dropped "
        "and counted in cm_tsdb_sink_dropped_samples_total.",
    )


class AlertsSettings(_Section):
    """Alerting: its data files and timers (``COMMUNE_MONITOR_ALERTS_*``)."""

    enabled: bool = Field(
        default=True, description="Evaluate alert rules and raise tickets (alerts/)."
    )
    rules_file: Path | None = Field(
        default=None, description="Alert rules YAML. Default: the bundled alerts/rules.yaml."
    )
    routing_file: Path | None = Field(
        default=None, description="Ticket routing YAML. Default: the bundled alerts/routing.yaml."
    )
    calendar_file: Path | None = Field(
        default=None,
        description="Working calendar YAML (opening hours, make-up days, per-commune hours). "
        "Default: the bundled alerts/calendar.yaml.",
    )
    systems_file: Path | None = Field(
        default=None,
        description="Central systems YAML (which probe targets belong to which system, for one "
        "software_outage per system). Default: the bundled alerts/systems.yaml.",
    )
    sweep_seconds: float = Field(
        default=15.0, gt=0, description="How often silence, hold-down and SLA timers are checked."
    )
    notify_seconds: float = Field(
        default=10.0, gt=0, description="How often the notification outbox is sent."
    )
    link_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Key of the signed acknowledge/resolve links in notifications (HMAC-SHA256; "
        "at least 32 characters). Default: a random key made once and kept in "
        "data_dir/action-links.key (mode 0600). Set it when several collectors on different "
        "hosts send messages; changing it voids every link already sent.",
    )


class WebSettings(_Section):
    """The web console (``COMMUNE_MONITOR_WEB_*``)."""

    trusted_proxies: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="Reverse proxies (addresses or networks, e.g. 10.0.0.5/32, comma-separated "
        "in the environment) whose X-Forwarded-For the console's login limits believe. "
        "Default: none, so the direct peer is counted; behind a proxy with this empty, all its "
        "clients share one count.",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class SmtpSettings(_Section):
    """The SMTP relay for ticket e-mail (``COMMUNE_MONITOR_SMTP_*``)."""

    host: str | None = Field(
        default=None, description="SMTP relay for ticket e-mail. Default: no e-mail."
    )
    port: int = Field(default=25, ge=1, le=65535, description="SMTP relay port.")
    sender: str = Field(
        default="commune-monitor@localhost", description="From address of ticket e-mail."
    )
    starttls: bool = Field(default=False, description="Use STARTTLS with the relay.")
    username: str | None = Field(default=None, description="SMTP login, if required.")
    password: SecretStr | None = Field(default=None, description="SMTP password.")


class HttpSettings(_Section):
    """Bounds of every HTTP request, whatever its route (``COMMUNE_MONITOR_HTTP_*``).

    The report batches and the register upload have their own, larger body bound
    (``max_body_bytes``); the request head's deadline is ``http_head_timeout_seconds``.
    """

    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body of every route but the report batches and the register "
        "upload (those take max_body_bytes): enrolment, console forms, tickets, configuration. "
        "Larger bodies get 413 before they are read.",
    )
    max_header_bytes: int = Field(
        default=8 * 1024,
        ge=256,
        description="Longest request header line (name and value); longer gets 431.",
    )
    max_headers: int = Field(default=100, ge=8, description="Most request headers; more get 431.")
    max_head_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest request head (request line and every header) the server buffers; "
        "a longer head gets 431 and the connection is closed as soon as it passes the bound.",
    )
    body_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Longest time for the body of a request (every route but the report batches "
        "and the register upload, which take ingest_body_timeout_seconds) to arrive once its "
        "head has; a slower body gets 408 and the connection is closed.",
    )


class IngestSettings(_Section):
    """Work the collector does per report batch (``COMMUNE_MONITOR_INGEST_*``)."""

    inline_max_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="Batches whose JSON (after gunzip) is at most this large are validated on the "
        "event loop (under 10 ms: ten reports of a site agent's 25 devices are ~300 KiB); larger "
        "ones in the validation worker process, so that a large batch never holds up other "
        "requests.",
    )
    max_objects_per_batch: int = Field(
        default=250_000,
        ge=100,
        description="Most JSON objects (samples, label sets, devices, reports) in one batch; "
        "more get 413 before validation. A month of a site agent's back-fill in 200-report "
        "batches stays under it; the agent halves its batch on 413.",
    )
    validation_workers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Worker processes that validate large batches.",
    )
    validation_queue_max: int = Field(
        default=8,
        ge=1,
        description="Most large batches waiting for or in validation; beyond it the collector "
        "answers 503 with Retry-After (the batch stays in the agent's spool). One agent has at "
        "most one large batch in validation at a time (another gets 429).",
    )


class BudgetSettings(_Section):
    """What one agent and one commune may put in the collector's state, and so on /metrics
    (``COMMUNE_MONITOR_BUDGETS_*``). A report past a budget is refused with 422 naming the budget
    and counted in ``cm_ingest_budget_refusals_total``; nothing is silently dropped."""

    devices_per_agent: int = Field(
        default=300, ge=1, description="Devices one agent may report (a site agent polls many)."
    )
    devices_per_commune: int = Field(
        default=2_000, ge=1, description="Devices all agents of one commune may report."
    )
    sample_names_per_agent: int = Field(
        default=1_000, ge=1, description="Distinct sample names over one agent's devices."
    )
    series_per_name_per_agent: int = Field(
        default=10_000,
        ge=1,
        description="Series (label sets) of one sample name over one agent's devices.",
    )
    series_per_agent: int = Field(
        default=50_000, ge=1, description="Series over all of one agent's devices."
    )
    series_per_commune: int = Field(
        default=200_000, ge=1, description="Series over all devices of one commune."
    )
