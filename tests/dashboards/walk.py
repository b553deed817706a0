"""Walks generated dashboards: every panel target and variable query, for the tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+), (?P<label>[a-z_]+)\)$")


@dataclass(frozen=True)
class Target:
    """One PromQL query of one panel."""

    dashboard: str
    panel: str
    ref: str
    expr: str
    legend: str
    instant: bool

    @property
    def id(self) -> str:
        return f"{self.dashboard}/{self.panel}/{self.ref}"

    @property
    def labels(self) -> set[str]:
        """Labels the legend shows: every series of the query must carry them."""
        return set(LEGEND_LABEL.findall(self.legend))


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every non-row panel, including panels nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def targets(dashboard: dict[str, Any]) -> Iterator[Target]:
    """Every query of every panel."""
    for panel in panels(dashboard):
        for target in panel["targets"]:
            yield Target(
                dashboard=dashboard["uid"],
                panel=panel["title"],
                ref=target["refId"],
                expr=target["expr"],
                legend=target.get("legendFormat", ""),
                instant=bool(target.get("instant")),
            )


def variable_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(variable name, series selector, label) of every label_values() variable."""
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        found = LABEL_VALUES.match(variable["query"])
        assert found, variable["query"]
        yield variable["name"], found["match"], found["label"]
