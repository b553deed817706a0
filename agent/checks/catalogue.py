"""The metric and event catalogue of the PC agent's checks (``metrics.yaml``), as typed models.

The catalogue is data: every sample name a check emits, its type, unit, labels and help in English
and Vietnamese, and every event type with its attributes. Tests assert that what the checks emit is
catalogued; the collector can read the help texts for ``/metrics``. Checks never load it at run
time (PyYAML stays out of a counter PC's steady memory).
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.wire import RESERVED_LABELS, DeviceReport

CATALOGUE_PATH = Path(__file__).with_name("metrics.yaml")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# Units whose samples carry no unit suffix: states, codes, counts of things, load averages.
UNITLESS = frozenset({"boolean", "code", "count", "load"})


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


class Catalogue(BaseModel):
    """Every sample name and event type the PC checks may emit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metrics: tuple[MetricSpec, ...]
    events: tuple[EventSpec, ...]

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        for kind, names in (
            ("metric", [m.name for m in self.metrics]),
            ("event", [e.type for e in self.events]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} names: {', '.join(duplicates)}")
        return self

    def metric(self, name: str) -> MetricSpec | None:
        """The spec of sample ``name``, if catalogued."""
        return next((m for m in self.metrics if m.name == name), None)

    def event(self, type_: str) -> EventSpec | None:
        """The spec of event type ``type_``, if catalogued."""
        return next((e for e in self.events if e.type == type_), None)

    def problems(self, reports: list[DeviceReport]) -> list[str]:
        """What in ``reports`` is not catalogued: unknown names, labels or event attributes."""
        found: list[str] = []
        for report in reports:
            for sample in report.samples:
                spec = self.metric(sample.name)
                if spec is None:
                    found.append(f"sample {sample.name!r} is not catalogued")
                elif set(sample.labels) != set(spec.labels):
                    found.append(
                        f"sample {sample.name!r} has labels {sorted(sample.labels)}, "
                        f"catalogued {sorted(spec.labels)}"
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
    """Read and validate the catalogue (raises pydantic's ValidationError naming the bad entry)."""
    import yaml  # only tests, the CLI and the collector read the catalogue

    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Catalogue.model_validate(data)
