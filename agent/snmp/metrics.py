"""The catalogue of samples and events the SNMP check emits, loaded from ``metrics.yaml``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.snmp.errors import SnmpConfigError
from agent.wire import RESERVED_LABELS

METRICS_PATH = Path(__file__).with_name("metrics.yaml")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HelpText(_Frozen):
    """Help text in English and Vietnamese (with diacritics)."""

    en: str = Field(min_length=1)
    vi: str = Field(min_length=1)


def _label_names(value: list[str]) -> list[str]:
    for name in value:
        if not _NAME.match(name):
            raise ValueError(f"label {name!r} must match [a-z][a-z0-9_]*")
        if name in RESERVED_LABELS:
            raise ValueError(f"label {name!r} is reserved for the collector")
    return value


class MetricSpec(_Frozen):
    """One sample name: its type, unit, labels and help."""

    type: Literal["gauge", "counter"]
    unit: str = Field(pattern=r"^([a-z][a-z_]*)?$")
    labels: list[str] = Field(default_factory=list)
    help: HelpText

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        return _label_names(value)


class EventSpec(_Frozen):
    """One event type: its attributes and help."""

    attrs: list[str] = Field(default_factory=list)
    help: HelpText


class Catalogue(_Frozen):
    """Every sample name and event type of the SNMP check."""

    metrics: dict[str, MetricSpec]
    events: dict[str, EventSpec]

    @model_validator(mode="after")
    def _names_follow_conventions(self) -> Catalogue:
        for name, spec in self.metrics.items():
            if not _NAME.match(name):
                raise ValueError(f"metric {name!r} must be lowercase snake case")
            base = name.removesuffix("_total")
            if spec.type == "counter" and base == name:
                raise ValueError(f"counter {name!r} must end in '_total'")
            if spec.unit and not base.endswith("_" + spec.unit):
                raise ValueError(f"metric {name!r} must end in its unit '_{spec.unit}'")
        for name in self.events:
            if not _NAME.match(name):
                raise ValueError(f"event {name!r} must be lowercase snake case")
        return self


def load_catalogue(path: Path = METRICS_PATH) -> Catalogue:
    """Read and validate the catalogue; :class:`SnmpConfigError` names the bad field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SnmpConfigError(str(path), f"cannot read: {exc}") from None
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise SnmpConfigError(str(path), problems) from None
