"""The metric and event catalogue of every check, as typed models: the one loader.

The catalogue is data shipped beside the checks (``agent/checks/metrics.yaml`` for the PC's
checks, ``agent/checks/snmp/metrics.yaml`` for the SNMP poller): every sample name, its type,
unit, labels and help in English and Vietnamese, and every event type with its attributes.
Tests assert that what the checks (and the simulator) emit is catalogued; the collector reads
the types and help texts for ``/metrics`` and the time-series sink. It lives beside the wire
schema because both programs read it; checks never load it at run time (PyYAML stays out of a
counter PC's steady memory).
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.wire import RESERVED_LABELS, DeviceReport

CHECKS_DIR = Path(__file__).with_name("checks")
CATALOGUE_PATH = CHECKS_DIR / "metrics.yaml"
SNMP_CATALOGUE_PATH = CHECKS_DIR / "snmp" / "metrics.yaml"
CATALOGUE_PATHS = (CATALOGUE_PATH, SNMP_CATALOGUE_PATH)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# Units whose samples carry no unit suffix: states, codes, counts of things, load averages ("":
# none said).
UNITLESS = frozenset({"", "boolean", "code", "count", "load"})


class MetricType(StrEnum):
    """Prometheus-style metric type."""

    GAUGE = "gauge"
    COUNTER = "counter"


class Help(BaseModel):
    """Help text in both languages of the project's users."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    en: str = Field(min_length=3)
    vi: str = Field(min_length=3)

    @field_validator("vi")
    @classmethod
    def _has_diacritics(cls, value: str) -> str:
        # Vietnamese without diacritics is ambiguous ("bao tri" vs "bảo trì"); insist on them.
        if value.isascii():
            raise ValueError(f"Vietnamese help {value!r} has no diacritics")
        return value


class MetricSpec(BaseModel):
    """One catalogued sample name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    check: str
    type: MetricType
    unit: str
    labels: tuple[str, ...] = ()
    help: Help

    @model_validator(mode="after")
    def _consistent(self) -> MetricSpec:
        if not _NAME.match(self.name):
            raise ValueError(f"metric {self.name!r}: not lowercase snake case")
        for label in self.labels:
            if not _LABEL.match(label) or label in RESERVED_LABELS:
                raise ValueError(f"metric {self.name!r}: label {label!r} is not allowed")
        stem = self.name.removesuffix("_total") if self.type is MetricType.COUNTER else self.name
        if self.type is MetricType.COUNTER and stem == self.name:
            raise ValueError(f"counter {self.name!r} must end with _total")
        if self.unit not in UNITLESS and not stem.endswith(f"_{self.unit}"):
            raise ValueError(f"metric {self.name!r}: name must end with its unit '_{self.unit}'")
        return self


class EventSpec(BaseModel):
    """One catalogued event type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    check: str
    attrs: tuple[str, ...] = ()
    help: Help


class CatalogueError(ValueError):
    """A catalogue file is invalid; the message names the file, the entry and the field."""


class Catalogue(BaseModel):
    """Every sample name and event type the checks may emit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metrics: tuple[MetricSpec, ...]
    events: tuple[EventSpec, ...]

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        # Two checks may report one name (the host check's and the SNMP poller's cpu_percent),
        # with their own labels, but it must mean one type of one unit; one check names it once.
        for kind, keys in (
            ("metric", [(m.check, m.name) for m in self.metrics]),
            ("event", [(e.check, e.type) for e in self.events]),
        ):
            duplicates = sorted({f"{c}:{n}" for c, n in keys if keys.count((c, n)) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} names: {', '.join(duplicates)}")
        first: dict[str, MetricSpec] = {}
        for metric in self.metrics:
            seen = first.setdefault(metric.name, metric)
            if (seen.type, seen.unit) != (metric.type, metric.unit):
                raise ValueError(
                    f"metric {metric.name!r}: {seen.check} says {seen.type} of {seen.unit!r}, "
                    f"{metric.check} says {metric.type} of {metric.unit!r}"
                )
        return self

    def metric(self, name: str) -> MetricSpec | None:
        """The spec of sample ``name``, if catalogued."""
        return self.metric_index.get(name)

    def event(self, type_: str) -> EventSpec | None:
        """The spec of event type ``type_``, if catalogued."""
        return self.event_index.get(type_)

    @property
    def metric_index(self) -> dict[str, MetricSpec]:
        """Sample names and their (first) specs."""
        index: dict[str, MetricSpec] = {}
        for metric in self.metrics:
            index.setdefault(metric.name, metric)
        return index

    def label_sets(self, name: str) -> list[frozenset[str]]:
        """The label sets catalogued for sample ``name`` (one per check reporting it)."""
        return [frozenset(m.labels) for m in self.metrics if m.name == name]

    @property
    def event_index(self) -> dict[str, EventSpec]:
        """Event types and their specs."""
        return {event.type: event for event in self.events}

    def merged(self, other: Catalogue) -> Catalogue:
        """Both catalogues (a name in both is an error)."""
        return Catalogue(metrics=self.metrics + other.metrics, events=self.events + other.events)

    def problems(self, reports: list[DeviceReport]) -> list[str]:
        """What in ``reports`` is not catalogued: unknown names, labels or event attributes."""
        found: list[str] = []
        for report in reports:
            for sample in report.samples:
                allowed = self.label_sets(sample.name)
                if not allowed:
                    found.append(f"sample {sample.name!r} is not catalogued")
                elif frozenset(sample.labels) not in allowed:
                    found.append(
                        f"sample {sample.name!r} has labels {sorted(sample.labels)}, "
                        f"catalogued {[sorted(labels) for labels in allowed]}"
                    )
            for event in report.events:
                event_spec = self.event(event.type)
                if event_spec is None:
                    found.append(f"event {event.type!r} is not catalogued")
                elif not set(event.attrs) <= set(event_spec.attrs):
                    extra = sorted(set(event.attrs) - set(event_spec.attrs))
                    found.append(f"event {event.type!r} has uncatalogued attrs {extra}")
        return found


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Read and validate one catalogue file; :class:`CatalogueError` names file and field."""
    import yaml  # only tests, the CLI and the collector read the catalogue

    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: cannot read: {exc}") from None
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise CatalogueError(f"{path}: {problems}") from None


def load_all() -> Catalogue:
    """Every check's catalogue, merged."""
    merged = load_catalogue(CATALOGUE_PATHS[0])
    for path in CATALOGUE_PATHS[1:]:
        merged = merged.merged(load_catalogue(path))
    return merged
