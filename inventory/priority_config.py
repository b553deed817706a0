"""Weights and thresholds of the upgrade priority score, loadable from ``priority.yaml``.

Only the ratios of the weights matter; the thresholds say where a measured signal starts to count
and where it is full; criticality says how much a failure of each kind stops service, computers
by where they serve (``Placement``). See ``priority`` for how the score uses them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inventory._yaml import load_model
from inventory.models import AssetKind

DEFAULT_PRIORITY_PATH = Path(__file__).with_name("priority.yaml")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Placement(StrEnum):
    """Where a computer serves: at a reception counter, for the public, or in a back office."""

    COUNTER = "counter"
    PUBLIC = "public"
    BACK_OFFICE = "back_office"


class PriorityWeights(_Frozen):
    """Relative weights of the terms; only their ratios matter."""

    age: float = Field(default=25, ge=0)
    remaining_value: float = Field(default=10, ge=0)
    failures: float = Field(default=15, ge=0)
    saturation: float = Field(default=15, ge=0)
    workload: float = Field(default=10, ge=0)
    criticality: float = Field(default=15, ge=0)
    out_of_service: float = Field(default=10, ge=0)
    # A computer whose operating system is out of support (issue 23).
    unsupported_os: float = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Self:
        if self.total() <= 0:
            raise ValueError("at least one weight must be positive")
        return self

    def total(self) -> float:
        """Sum of the weights."""
        return (
            self.age
            + self.remaining_value
            + self.failures
            + self.saturation
            + self.workload
            + self.criticality
            + self.out_of_service
            + self.unsupported_os
        )


class SaturationThresholds(_Frozen):
    """Where each measured signal starts to count (0) and where it is full (1)."""

    memory_start_percent: float = Field(default=80, ge=0, le=100)
    memory_full_percent: float = Field(default=98, ge=0, le=100)
    cpu_start_percent: float = Field(default=70, ge=0, le=100)
    cpu_full_percent: float = Field(default=95, ge=0, le=100)
    disk_start_percent: float = Field(default=85, ge=0, le=100)
    disk_full_percent: float = Field(default=98, ge=0, le=100)
    # Monthly pages ÷ the model's recommended monthly volume.
    print_start_ratio: float = Field(default=0.8, ge=0)
    print_full_ratio: float = Field(default=1.5, ge=0)

    @model_validator(mode="after")
    def _start_below_full(self) -> Self:
        for name in ("memory", "cpu", "disk"):
            start = getattr(self, f"{name}_start_percent")
            full = getattr(self, f"{name}_full_percent")
            if start >= full:
                raise ValueError(f"{name}_start_percent {start} must be below {name}_full_percent")
        if self.print_start_ratio >= self.print_full_ratio:
            raise ValueError("print_start_ratio must be below print_full_ratio")
        return self


class Criticality(_Frozen):
    """How much a failure of each kind stops service, 0–1; computers by placement."""

    pc_counter: float = Field(default=1.0, ge=0, le=1)
    pc_public: float = Field(default=0.6, ge=0, le=1)
    pc_back_office: float = Field(default=0.4, ge=0, le=1)
    printer: float = Field(default=0.7, ge=0, le=1)
    mfp: float = Field(default=0.6, ge=0, le=1)
    # Digitisation is 22 of the 100 points of the 766 index: a counter without a scanner stalls.
    scanner: float = Field(default=0.9, ge=0, le=1)
    # One router or switch down takes the whole centre off the specialised network.
    router: float = Field(default=1.0, ge=0, le=1)
    switch: float = Field(default=0.9, ge=0, le=1)
    firewall: float = Field(default=0.7, ge=0, le=1)
    access_point: float = Field(default=0.5, ge=0, le=1)
    ups: float = Field(default=0.7, ge=0, le=1)
    kiosk: float = Field(default=0.5, ge=0, le=1)
    queue_machine: float = Field(default=0.7, ge=0, le=1)
    camera: float = Field(default=0.3, ge=0, le=1)
    nvr: float = Field(default=0.4, ge=0, le=1)
    video_conference: float = Field(default=0.5, ge=0, le=1)
    other: float = Field(default=0.3, ge=0, le=1)

    def of(self, kind: AssetKind, placement: Placement) -> float:
        """Criticality of an asset of ``kind`` at ``placement``."""
        if kind is AssetKind.PC:
            value: float = getattr(self, f"pc_{placement.value}")
            return value
        value = getattr(self, kind.value)
        return value


class PriorityConfig(_Frozen):
    """Weights and thresholds of the priority score (loadable from YAML)."""

    weights: PriorityWeights = PriorityWeights()
    age_cap_ratio: float = Field(default=1.5, gt=0, description="age ÷ life at which age is full")
    failures_full: int = Field(default=6, ge=1, description="failures in 12 months for a full term")
    workload_full_dossiers_per_day: float = Field(default=150, gt=0)
    saturation: SaturationThresholds = SaturationThresholds()
    recommended_pages_per_month: dict[AssetKind, float] = Field(
        default_factory=lambda: {AssetKind.PRINTER: 5_000.0, AssetKind.MFP: 20_000.0}
    )
    criticality: Criticality = Criticality()
    # Room text that marks a counter or a public corner (case-insensitive regular expressions).
    counter_room_pattern: str = r"qu[aầ]y|counter|một cửa|mot cua"
    public_room_pattern: str = r"tự phục vụ|tu phuc vu|đề án 06|de an 06|self.?service|công dân"

    @model_validator(mode="after")
    def _patterns_compile(self) -> Self:
        for name in ("counter_room_pattern", "public_room_pattern"):
            try:
                re.compile(getattr(self, name))
            except re.error as exc:
                raise ValueError(f"{name} is not a regular expression: {exc}") from exc
        return self


def load_priority_config(path: Path | None = None) -> PriorityConfig:
    """Load priority weights and thresholds (default: the packaged ``priority.yaml``)."""
    return load_model(path or DEFAULT_PRIORITY_PATH, PriorityConfig)
