"""Provisioning through Grafana's HTTP API with grafana-client: folder, data source, dashboards.

Idempotent: what already exists and equals what we would send is left alone, so a second push
writes nothing (no new dashboard versions pile up in Grafana's history). A dashboard that
differs is overwritten; the source of truth is this repository, not edits made in Grafana.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.panels import DATASOURCE_UID

FOLDER_UID = "commune-monitor"
FOLDER_TITLE = "Giám sát xã / Commune monitor"
DATASOURCE_NAME = "commune-monitor TSDB"
COMMIT_MESSAGE = "commune-monitor dashboards push"


@dataclass
class PushResult:
    """What a push changed in Grafana (empty lists: nothing needed changing)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@contextmanager
def connect(url: str, token: str, timeout_seconds: float = 10.0) -> Iterator[GrafanaApi]:
    """A client for the Grafana at ``url`` authenticating with a service-account ``token``;
    its HTTP session is closed on leaving (grafana-client itself never closes it)."""
    api: GrafanaApi = GrafanaApi.from_url(url, credential=token, timeout=timeout_seconds)
    client: Any = api.client
    try:
        yield api
    finally:
        client.s.close()


def _get(call: Any, *args: Any) -> dict[str, Any] | None:
    """The object Grafana returns, or None on 404 (any other error propagates)."""
    try:
        found: dict[str, Any] = call(*args)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise
    return found


def datasource_body(tsdb_url: str) -> dict[str, Any]:
    """The Prometheus-type data source for VictoriaMetrics (or Prometheus) at ``tsdb_url``."""
    return {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": "prometheus",
        "access": "proxy",
        "url": tsdb_url,
        "isDefault": False,
        # POST lets VictoriaMetrics take long PromQL from the heavier panels.
        "jsonData": {"httpMethod": "POST", "timeInterval": "1m"},
    }


# grafana-client's element methods carry no annotations: they are used through ``Any``.


def _ensure_folder(api: GrafanaApi, result: PushResult) -> None:
    folders: Any = api.folder
    if _get(folders.get_folder, FOLDER_UID) is None:
        folders.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        result.created.append(f"folder/{FOLDER_UID}")
    else:
        result.unchanged.append(f"folder/{FOLDER_UID}")


def _ensure_datasource(api: GrafanaApi, tsdb_url: str, result: PushResult) -> None:
    sources: Any = api.datasource
    wanted = datasource_body(tsdb_url)
    existing = _get(sources.get_datasource_by_uid, DATASOURCE_UID)
    name = f"datasource/{DATASOURCE_UID}"
    if existing is None:
        sources.create_datasource(wanted)
        result.created.append(name)
    elif any(existing.get(key) != value for key, value in wanted.items()):
        sources.update_datasource_by_uid(DATASOURCE_UID, wanted)
        result.updated.append(name)
    else:
        result.unchanged.append(name)


def _comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    # Grafana adds its own id and version to what it stores; they are not part of the content.
    return {k: v for k, v in dashboard.items() if k not in {"id", "version"}}


def push(
    api: GrafanaApi, dashboards: dict[str, dict[str, Any]], tsdb_url: str | None = None
) -> PushResult:
    """Create or update the folder, the data source (when ``tsdb_url`` is given) and
    ``dashboards`` (uid -> JSON model)."""
    result = PushResult()
    boards: Any = api.dashboard
    _ensure_folder(api, result)
    if tsdb_url:
        _ensure_datasource(api, tsdb_url, result)
    for uid, dashboard in dashboards.items():
        name = f"dashboard/{uid}"
        existing = _get(boards.get_dashboard, uid)
        if existing is not None:
            stored = existing.get("dashboard", {})
            folder = existing.get("meta", {}).get("folderUid")
            if folder == FOLDER_UID and _comparable(stored) == _comparable(dashboard):
                result.unchanged.append(name)
                continue
        boards.update_dashboard(
            {
                "dashboard": {**dashboard, "id": None},
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": COMMIT_MESSAGE,
            }
        )
        (result.created if existing is None else result.updated).append(name)
    return result
