"""Builds every dashboard in every language and writes the JSON Grafana imports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import (
    ageing_fleet,
    commune_detail,
    device_detail,
    printers,
    procedure_software,
    province_overview,
)
from dashboards.texts import LANGS, Lang

BUILDERS: tuple[Callable[[Lang], dash.Dashboard], ...] = (
    province_overview.build,
    commune_detail.build,
    device_detail.build,
    procedure_software.build,
    printers.build,
    ageing_fleet.build,
)


def to_json(builder: dash.Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model, with panel ids numbered (Grafana wants them unique)."""
    model = builder.build()
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    data: dict[str, Any] = json.loads(json.dumps(model, cls=JSONEncoder))
    return data


def all_dashboards() -> dict[str, dict[str, Any]]:
    """uid -> JSON model, every dashboard in every language."""
    out: dict[str, dict[str, Any]] = {}
    for lang in LANGS:
        for build in BUILDERS:
            data = to_json(build(lang))
            out[data["uid"]] = data
    return out


def write(out_dir: Path) -> list[Path]:
    """Write ``<uid>.json`` for every dashboard into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for uid, data in all_dashboards().items():
        path = out_dir / f"{uid}.json"
        path.write_text(
            json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written
