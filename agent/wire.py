"""The wire schema of a report: what agents send and the collector stores (see docs/wire.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
MAX_REPORTS_PER_BATCH = 1_000
MAX_DEVICES_PER_REPORT = 500
MAX_SAMPLES_PER_DEVICE = 2_000
MAX_EVENTS_PER_DEVICE = 200

# Labels the collector adds itself; a sample may not override them.
RESERVED_LABELS = frozenset({"province", "commune_code", "device_id", "kind", "agent_id"})
# Sample names the collector writes itself on /metrics (cm_device_<name>): a sample of that name
# would repeat the family's HELP and TYPE lines, which Prometheus refuses for the whole scrape.
RESERVED_SAMPLE_NAMES = frozenset({"last_report_timestamp_seconds"})
# Times on the wire: a measurement is after the Unix epoch (a PC whose CMOS battery died counts
# from 1970 or 2000, which the collector's skew correction repairs) and before 2200. Checked on the
# wall-clock value before any time-zone arithmetic: year 1 with an offset, or 9999 with a negative
# one, would overflow datetime and was a 500.
EARLIEST_YEAR = 1970
LATEST_YEAR = 2199
MAX_FACT_KEY = 64
MAX_FACT_VALUE = 2_000
MAX_ATTR_VALUE = 2_000


class DeviceKind(StrEnum):
    """What a monitored device is; drives rules, routing and the asset register."""

    PC = "pc"
    PRINTER = "printer"
    MFP = "mfp"
    SCANNER = "scanner"
    ROUTER = "router"
    SWITCH = "switch"
    FIREWALL = "firewall"
    ACCESS_POINT = "access_point"
    UPS = "ups"
    KIOSK = "kiosk"
    QUEUE_MACHINE = "queue_machine"
    CAMERA = "camera"
    NVR = "nvr"
    VIDEO_CONFERENCE = "video_conference"
    SERVICE = "service"
    LINK = "link"
    OTHER = "other"


class Severity(StrEnum):
    """How bad an event is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone (UTC, e.g. '2026-01-05T08:00:00Z')")
    # Before astimezone(): an offset applied to year 1 or 9999 overflows (OverflowError, not a
    # validation error).
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(
            f"year {value.year} is out of range; a time on the wire lies in the years "
            f"{EARLIEST_YEAR} to {LATEST_YEAR}"
        )
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware_utc)]
# Patterns are checked inside pydantic-core (no Python call per sample): ingest parses ~50k/s.
MetricName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
LabelName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
LabelValue = Annotated[str, Field(max_length=200)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=16)]
DeviceId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$")]
# Facts and event attributes are free text from the PC (models, serials, reasons): bounded, so one
# device cannot store (and have /api and the console serve) megabytes of text.
FactKey = Annotated[str, Field(min_length=1, max_length=MAX_FACT_KEY)]
FactValue = Annotated[str, Field(max_length=MAX_FACT_VALUE)]
AttrValue = Annotated[str, Field(max_length=MAX_ATTR_VALUE)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sample(_Frozen):
    """One measured value of one device, e.g. ``cpu_percent`` = 42.5."""

    name: MetricName
    value: float = Field(allow_inf_nan=False)
    labels: Labels = Field(default_factory=dict)


class Event(_Frozen):
    """Something that happened on a device (a printer jam, an interface going down, a reboot)."""

    type: MetricName
    severity: Severity = Severity.INFO
    message: str = Field(default="", max_length=2_000)
    attrs: dict[FactKey, AttrValue] = Field(default_factory=dict, max_length=32)


class DeviceReport(_Frozen):
    """Samples, events and identifying facts of one device in one report."""

    device_id: DeviceId
    kind: DeviceKind
    samples: list[Sample] = Field(default_factory=list, max_length=MAX_SAMPLES_PER_DEVICE)
    events: list[Event] = Field(default_factory=list, max_length=MAX_EVENTS_PER_DEVICE)
    # Identifying facts for reconciliation with the register: serial, mac, hostname, model...
    facts: dict[FactKey, FactValue] = Field(default_factory=dict, max_length=32)

    @model_validator(mode="after")
    def _no_reserved_labels(self) -> DeviceReport:
        for index, sample in enumerate(self.samples):
            if sample.name in RESERVED_SAMPLE_NAMES:
                raise ValueError(
                    f"samples.{index}.name: {sample.name!r} is reserved for the collector"
                )
            # isdisjoint first: this runs for every sample the province sends, and clashes are rare.
            if sample.labels and not RESERVED_LABELS.isdisjoint(sample.labels):
                clash = RESERVED_LABELS.intersection(sample.labels)
                raise ValueError(
                    f"samples.{index}.labels: {', '.join(sorted(clash))} is reserved for the "
                    "collector"
                )
        return self


class Report(_Frozen):
    """One round of measurements by one agent: numbered, stamped with the agent's clock."""

    seq: int = Field(ge=1, le=2**62)
    measured_at: UtcDatetime
    devices: list[DeviceReport] = Field(default_factory=list, max_length=MAX_DEVICES_PER_REPORT)


class ReportBatch(_Frozen):
    """What an agent POSTs to /api/v1/reports: reports of one agent in sequence order."""

    schema_version: Literal[1]
    agent_id: str = Field(min_length=1, max_length=64)
    # The agent's clock when it sent the batch: with the collector's receive time it gives the skew.
    sent_at: UtcDatetime
    # The lowest sequence number still in the agent's spool. Sequences below it were dropped by the
    # agent (spool full) and will never come: the collector may acknowledge past them.
    oldest_unacked_seq: int | None = Field(default=None, ge=1)
    reports: list[Report] = Field(min_length=1, max_length=MAX_REPORTS_PER_BATCH)


class Ack(_Frozen):
    """The collector's answer: what is durably stored and may leave the agent's spool."""

    agent_id: str
    acked_seq: int = Field(description="Highest sequence such that every one up to it is stored")
    stored: list[int] = Field(description="Sequences of this batch that are durably stored")
    duplicates: int = Field(description="How many of this batch were already stored")
    clock_skew_seconds: float = Field(description="Collector time minus agent time")
