"""Alert rules as data: thresholds and durations per problem class, validated on load.

The bundled ``rules.yaml`` holds the defaults; a province may ship its own file (setting
``alerts_rules_file``). Every error names the file, the rule (number and name) and the field, as
snmp_exporter's config check does: ``rules.yaml rule 3 (disk_full), field 'op': ...``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agent.wire import DeviceKind
from alerts.errors import RulesError

ProblemClass = Literal[
    "site_outage",
    "site_link_degraded",
    "upstream_outage",
    "software_outage",
    "software_slow_site",
    "device_down",
    "device_health",
    "printer_fault",
    "printer_supply_low",
    # The signing chain at the counter and the central systems' certificates (issue 23).
    "signing_cert_expiring",
    "token_missing",
    "signing_plugin_down",
    "tls_cert_expiring",
]
PROBLEM_CLASSES: tuple[str, ...] = get_args(ProblemClass)
# Classes a per-device threshold rule may raise; the others come from the detectors (printer
# supplies from the printer's own evidence: the ``printer`` section).
DEVICE_CLASSES = ("device_down", "device_health", "printer_fault")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``45m``, ``2h``, ``1d`` or a number of seconds, as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is not None:
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    raise ValueError(f"{value!r} is not a duration such as '90s', '45m', '2h' or '1d'")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ThresholdRule(_Model):
    """A per-device condition on one sample family, e.g. ``disk_used_percent > 90``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    problem_class: Literal["device_down", "device_health", "printer_fault"]
    metric: str = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")
    # Only samples whose labels take one of these values count, e.g. condition: [jammed].
    labels: dict[str, list[str]] = Field(default_factory=dict)
    op: Literal[">", ">=", "<", "<="]
    threshold: float
    for_: Duration = Field(default=timedelta(0), alias="for")
    device_kinds: list[DeviceKind] = Field(default_factory=list)
    # The metric is a counter (``..._total``): compare its increase per second between
    # consecutive reports, not its value (interface errors per second).
    rate: bool = False
    text_vi: str = ""
    text_en: str = ""

    def matches(self, value: float) -> bool:
        """Whether ``value`` breaks the threshold."""
        if self.op == ">":
            return value > self.threshold
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<":
            return value < self.threshold
        return value <= self.threshold

    def applies_to(self, kind: str) -> bool:
        """Whether the rule watches devices of ``kind``."""
        return not self.device_kinds or kind in self.device_kinds

    def label_match(self, labels: dict[str, str]) -> bool:
        """Whether a sample's labels pass the rule's label filter."""
        return all(labels.get(key) in allowed for key, allowed in self.labels.items())


class SilenceRules(_Model):
    """When an agent counts as silent: no report measured for ``factor`` heartbeats."""

    heartbeat_factor: float = Field(default=1.5, ge=1.0)


class UpstreamRules(_Model):
    """When many communes go silent at once, it is the collector's uplink or the provincial
    backbone: one ``upstream_outage`` for the province's network owner, not one per commune."""

    # This share of the communes expected to report, or this many, silent together...
    share: float = Field(default=0.3, gt=0, le=1)
    min_communes: int = Field(default=20, ge=2)
    # ...but never fewer than this: two cut links in a small province are two site outages.
    floor: int = Field(default=3, ge=2)
    # A commune counts as going silent once no agent it should have has reported for this many
    # heartbeats (before the silence limit: the communes of one failure cross it one by one).
    quiet_factor: float = Field(default=1.0, gt=0)


class GuardRules(_Model):
    """When the collector itself is behind: silence is not judged (the sites are not at fault)."""

    # After the collector starts (agents resend what they spooled while it was away); never
    # shorter than the silence limit.
    startup: Duration = Field(default=timedelta(minutes=2))
    # While the oldest report not yet processed has waited longer than this (goodbyes and
    # replays are in the journal but not yet known).
    processing_lag: Duration = Field(default=timedelta(minutes=2))
    # While this process's ingest has had batches waiting this long for their commit.
    ingest_stall: Duration = Field(default=timedelta(minutes=1))


class SiteRules(_Model):
    """Site outage and flapping: the WAN interface name and what makes a flapping link."""

    wan_interface: str = "wan"
    # A site outage that comes back this many times within the reopen window is a degraded
    # (flapping) link rather than a cut: its ticket turns into site_link_degraded.
    flap_count: int = Field(default=3, ge=2)
    # The site's line is degraded when its ping (site agent to gateway/WAN) loses this share of
    # echoes, or its round trip exceeds max(min, factor x the commune's own running baseline).
    ping_loss_ratio: float = Field(default=0.2, gt=0, le=1)
    # The site agent's ping targets (agent/checks/ping) across the commune's line; a ping of
    # the LAN gateway says nothing about the line.
    line_ping_targets: tuple[str, ...] = ("wan", "tslcd", "internet", "isp")
    ping_rtt_factor: float = Field(default=3.0, gt=1)
    ping_rtt_min_seconds: float = Field(default=0.1, gt=0)


class SoftwareRules(_Model):
    """When trouble of the central systems (systems.yaml) is the vendor's or one commune's."""

    # A probe is slow above max(min_seconds, factor x the province's running baseline).
    slow_factor: float = Field(default=4.0, gt=1.0)
    slow_min_seconds: float = Field(default=2.0, gt=0)
    baseline_weight: float = Field(default=0.02, gt=0, le=1)
    # A commune is "bad" for a target when this share of its reporting PCs are failing or slow.
    commune_share: float = Field(default=0.5, gt=0, le=1)
    # Province-wide (software_outage) when this share of reporting communes are bad at once.
    province_share: float = Field(default=0.3, gt=0, le=1)
    min_communes: int = Field(default=3, ge=2)
    # How recent a probe sample must be to count a PC or commune as reporting.
    window: Duration = Field(default=timedelta(minutes=3))
    # A single commune must stay bad this long before it is its own (software_slow_site) ticket,
    # so that the start of a province-wide outage is never split into per-commune tickets.
    site_confirm: Duration = Field(default=timedelta(seconds=60))
    # A slow probe whose TCP connect + TLS phases take this share of its time is slow on the path
    # (the commune's line), not at the server: time-to-first-byte tracks the server.
    path_share: float = Field(default=0.5, gt=0, le=1)


class TicketRules(_Model):
    """Ticket lifecycle timings, and the notification throttle of a flapping ticket."""

    hold_down: Duration = Field(default=timedelta(minutes=5))
    reopen_window: Duration = Field(default=timedelta(hours=2))
    # An automatic resolution is told this long after it, and not at all if the root cause
    # returns meanwhile: a flapping link is one problem, not a series of tickets' lives.
    resolve_notice_delay: Duration = Field(default=timedelta(minutes=5))
    # At most this many messages per ticket within flap_window (SLA breaches excepted); the
    # changes beyond wait for one digest at the end of the window.
    flap_messages: int = Field(default=3, ge=1)
    flap_window: Duration = Field(default=timedelta(hours=1))


class PrinterRules(_Model):
    """What makes a printer supply worth a ticket."""

    # A measured level under this percent is low (the printer's own percentage).
    low_percent: float = Field(default=10.0, gt=0, lt=100)
    # The fitted trend since the last refill reaching empty within this many days is low too.
    forecast_days: float = Field(default=3.0, gt=0)
    forecast_min_points: int = Field(default=4, ge=2)
    forecast_min_span: Duration = Field(default=timedelta(days=1))
    # Level history kept per supply: at most one point per spacing, up to this long.
    history_spacing: Duration = Field(default=timedelta(hours=1))
    history_span: Duration = Field(default=timedelta(days=30))


def _positive(value: timedelta, field: str) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"{field} must be longer than 0 (got {value})")
    return value


class SigningRules(_Model):
    """When the signing chain (issue 23) is worth a ticket: the certificates on the USB tokens,
    the tokens themselves, the signing bridges, and the central systems' TLS certificates."""

    # A token's certificate expiring within this many days: renewal takes days (a request to
    # the CA, a new certificate written to the token), so the commune must start early.
    cert_days: float = Field(default=30.0, gt=0, le=365)
    # A central system's TLS certificate expiring within this many days: its vendor renews it.
    tls_cert_days: float = Field(default=14.0, gt=0, le=365)
    # No token on a signing PC for this much *opening* time (clerks take their tokens home).
    token_absent_for: Duration = Field(default=timedelta(hours=1))
    # A PC is a signing PC while a token was seen on it within this long.
    token_memory: Duration = Field(default=timedelta(days=30))
    # A bridge that answered ready on this PC before, not ready for this long.
    plugin_down_for: Duration = Field(default=timedelta(minutes=5))
    # A bridge counts as used on a PC while it answered ready there within this long (the
    # default check asks both bridges; a PC uses one of them).
    plugin_memory: Duration = Field(default=timedelta(days=30))

    @field_validator("token_absent_for", "token_memory", "plugin_down_for", "plugin_memory")
    @classmethod
    def _durations(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        return _positive(value, str(info.field_name))

    @model_validator(mode="after")
    def _memory_outlasts_wait(self) -> SigningRules:
        for wait, memory in (
            ("token_absent_for", "token_memory"),
            ("plugin_down_for", "plugin_memory"),
        ):
            if getattr(self, wait) >= getattr(self, memory):
                raise ValueError(
                    f"{wait} ({getattr(self, wait)}) must be shorter than {memory} "
                    f"({getattr(self, memory)}), or nothing would ever be raised"
                )
        return self


class Rules(_Model):
    """Every alerting rule of a province."""

    silence: SilenceRules = SilenceRules()
    upstream: UpstreamRules = UpstreamRules()
    guards: GuardRules = GuardRules()
    site: SiteRules = SiteRules()
    software: SoftwareRules = SoftwareRules()
    tickets: TicketRules = TicketRules()
    printer: PrinterRules = PrinterRules()
    signing: SigningRules = SigningRules()
    rules: tuple[ThresholdRule, ...] = ()

    def by_metric(self) -> dict[str, list[ThresholdRule]]:
        """Threshold rules indexed by the sample name they watch."""
        out: dict[str, list[ThresholdRule]] = {}
        for rule in self.rules:
            out.setdefault(rule.metric, []).append(rule)
        return out


_SECTIONS: dict[str, type[_Model]] = {
    "silence": SilenceRules,
    "upstream": UpstreamRules,
    "guards": GuardRules,
    "site": SiteRules,
    "software": SoftwareRules,
    "tickets": TicketRules,
    "printer": PrinterRules,
    "signing": SigningRules,
}


def yaml_mapping(
    text: str, source: str, allowed: Sequence[str], key_kind: str, expected: str
) -> dict[str, Any]:
    """The top-level mapping of a configuration document (empty if the document is).

    Errors name the file and, for keys outside ``allowed``, each unknown key (a ``key_kind``,
    e.g. "section") and what is allowed: a misspelt section must not be silently ignored.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{source}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RulesError(f"{source}: expected a mapping with {expected}")
    unknown = set(data) - set(allowed)
    if unknown:
        raise RulesError(
            f"{source}: unknown {key_kind}(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(allowed)}"
        )
    return data


def _first_error(exc: ValidationError) -> tuple[str, str, object]:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(rule)"
    return field, first["msg"], first.get("input")


def parse_rules(text: str, source: str = "rules.yaml") -> Rules:
    """Validate a rules document; errors name the file, the rule and the field."""
    data = yaml_mapping(text, source, [*_SECTIONS, "rules"], "section", "sections and 'rules'")
    software = data.get("software")
    if isinstance(software, dict) and "targets" in software:
        raise RulesError(
            f"{source} section 'software', field 'targets': central systems and their probe "
            "targets are declared in systems.yaml (setting alerts_systems_file); remove it here"
        )
    sections: dict[str, Any] = {}
    for name, model in _SECTIONS.items():
        try:
            sections[name] = model.model_validate(data.get(name) or {})
        except ValidationError as exc:
            field, msg, value = _first_error(exc)
            raise RulesError(
                f"{source} section '{name}', field '{field}': {msg} (got {value!r})"
            ) from None
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise RulesError(f"{source}, field 'rules': expected a list")
    rules: list[ThresholdRule] = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_rules):
        label = raw.get("name") if isinstance(raw, dict) else None
        where = f"{source} rule {number}{f' ({label})' if label else ''}"
        if isinstance(raw, dict) and raw.get("problem_class") == "printer_supply_low":
            raise RulesError(
                f"{where}, field 'problem_class': printer supplies are judged from the printer's "
                "own evidence (section 'printer': low_percent, forecast_days ...), not by a rule"
            )
        try:
            rule = ThresholdRule.model_validate(raw)
        except ValidationError as exc:
            field, msg, value = _first_error(exc)
            raise RulesError(f"{where}, field '{field}': {msg} (got {value!r})") from None
        if rule.name in seen:
            raise RulesError(f"{where}, field 'name': {rule.name!r} is used by an earlier rule")
        if rule.rate and not rule.metric.endswith("_total"):
            raise RulesError(
                f"{where}, field 'rate': {rule.metric!r} is not a counter; only counters "
                "(metric names ending in _total, e.g. if_in_errors_total) have a rate"
            )
        seen.add(rule.name)
        rules.append(rule)
    return Rules(**sections, rules=tuple(rules))


def load_rules(path: Path | None = None) -> Rules:
    """A rules file, or the bundled defaults."""
    if path is None:
        text = resources.files("alerts").joinpath("rules.yaml").read_text(encoding="utf-8")
        return parse_rules(text, "rules.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_rules(text, path.name)
