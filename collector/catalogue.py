"""The metric catalogue as the collector uses it: type and help of every sample name agents send.

Read from the agent's one typed catalogue (:mod:`agent.catalogue`), so that /metrics and the
time-series sink agree with the checks on types and help. Unknown names are exposed as gauges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.catalogue import MetricType, load_all


@dataclass(frozen=True)
class MetricInfo:
    """Type, unit and help (English, Vietnamese) of one sample name."""

    name: str
    type: Literal["gauge", "counter"]
    unit: str
    help_en: str
    help_vi: str


def load_catalogue() -> dict[str, MetricInfo]:
    """Every sample name of every check, by name."""
    return {
        spec.name: MetricInfo(
            name=spec.name,
            type="counter" if spec.type is MetricType.COUNTER else "gauge",
            unit=spec.unit,
            help_en=spec.help.en,
            help_vi=spec.help.vi,
        )
        for spec in load_all().metrics
    }
