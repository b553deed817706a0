"""The metric catalogue: every sample name agents may send, with its type and help text.

Each check package ships a ``metrics.yaml`` (data, not code); the collector merges them so that
/metrics and the time-series sink agree on types and help. Unknown names are exposed as gauges.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml

CATALOGUE_FILES = (("agent.checks", "metrics.yaml"), ("agent.snmp", "metrics.yaml"))


@dataclass(frozen=True)
class MetricInfo:
    """Type, unit and help (English, Vietnamese) of one sample name."""

    name: str
    type: Literal["gauge", "counter"]
    unit: str
    help_en: str
    help_vi: str


def _entries(data: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(data, dict) and "metrics" in data:
        data = data["metrics"]
    if isinstance(data, dict):
        return [(str(k), v or {}) for k, v in data.items()]
    if isinstance(data, list):
        return [(str(item["name"]), item) for item in data]
    return []


def _help(entry: dict[str, Any], lang: str) -> str:
    value = entry.get("help")
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or "")
    return str(entry.get(f"help_{lang}") or entry.get("help") or "")


def load_catalogue() -> dict[str, MetricInfo]:
    """Merge the catalogues shipped with the agent's check packages."""
    catalogue: dict[str, MetricInfo] = {}
    for package, filename in CATALOGUE_FILES:
        try:
            text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
        except (FileNotFoundError, ModuleNotFoundError):
            continue
        for name, entry in _entries(yaml.safe_load(text)):
            kind = str(entry.get("type", "gauge"))
            catalogue[name] = MetricInfo(
                name=name,
                type="counter" if kind == "counter" else "gauge",
                unit=str(entry.get("unit", "")),
                help_en=_help(entry, "en"),
                help_vi=_help(entry, "vi"),
            )
    return catalogue
