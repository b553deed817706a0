"""Provisioning Grafana (dashboards/provision.py): the push through grafana-client against a
recorded Grafana API contract, and the file provisioning that matches it.

Grafana itself was not available here: tests/dashboards/fake_grafana.py stands in for its HTTP
API on loopback. The tests check the requests the push makes and that repeating it changes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dashboards.build import all_dashboards
from dashboards.panels import DATASOURCE_UID
from dashboards.provision import FOLDER_TITLE, FOLDER_UID, connect, datasource_body, push
from tests.dashboards.fake_grafana import GrafanaState, fake_grafana

TOKEN = "glsa_test_token"
TSDB = "http://127.0.0.1:8428"


@pytest.fixture
def grafana() -> Iterator[tuple[str, GrafanaState]]:
    with fake_grafana(TOKEN) as served:
        yield served


def test_first_push_creates_folder_datasource_and_dashboards(
    grafana: tuple[str, GrafanaState],
) -> None:
    url, state = grafana
    built = all_dashboards()
    with connect(url, TOKEN) as api:
        result = push(api, built, TSDB)

    assert sorted(result.created) == sorted(
        [f"folder/{FOLDER_UID}", f"datasource/{DATASOURCE_UID}"]
        + [f"dashboard/{uid}" for uid in built]
    )
    assert all(r.authorization == f"Bearer {TOKEN}" for r in state.requests)
    writes = state.writes()
    assert (writes[0].method, writes[0].path) == ("POST", "/api/folders")
    assert writes[0].body == {"title": "Giám sát xã / Commune monitor", "uid": FOLDER_UID}
    assert (writes[1].method, writes[1].path) == ("POST", "/api/datasources")
    assert writes[1].body["type"] == "prometheus"
    assert writes[1].body["url"] == TSDB
    assert writes[1].body["uid"] == DATASOURCE_UID
    saves = writes[2:]
    assert {(r.method, r.path) for r in saves} == {("POST", "/api/dashboards/db")}
    assert len(saves) == len(built)
    for request in saves:
        body = request.body
        assert body["folderUid"] == FOLDER_UID
        assert body["overwrite"] is True
        assert body["dashboard"]["id"] is None
        assert {**body["dashboard"], "id": None} == {**built[body["dashboard"]["uid"]], "id": None}
    assert set(state.dashboards) == set(built)


def test_second_push_writes_nothing(grafana: tuple[str, GrafanaState]) -> None:
    url, state = grafana
    with connect(url, TOKEN) as api:
        push(api, all_dashboards(), TSDB)
    before = len(state.requests)
    versions = {uid: d["version"] for uid, d in state.dashboards.items()}

    with connect(url, TOKEN) as api:
        result = push(api, all_dashboards(), TSDB)
    again = state.requests[before:]
    assert again
    assert [r for r in again if r.method != "GET"] == []
    assert result.created == result.updated == []
    assert {uid: d["version"] for uid, d in state.dashboards.items()} == versions


def test_only_what_differs_is_updated(grafana: tuple[str, GrafanaState]) -> None:
    url, state = grafana
    with connect(url, TOKEN) as api:
        push(api, all_dashboards(), TSDB)
    # Someone edited one dashboard in Grafana, and the database moved.
    state.dashboards["cm-commune"]["title"] = "edited by hand"
    before = len(state.requests)
    with connect(url, TOKEN) as api:
        result = push(api, all_dashboards(), "http://127.0.0.1:9428")
    assert result.updated == [f"datasource/{DATASOURCE_UID}", "dashboard/cm-commune"]
    writes = [r for r in state.requests[before:] if r.method != "GET"]
    assert [(r.method, r.path) for r in writes] == [
        ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("POST", "/api/dashboards/db"),
    ]
    assert state.dashboards["cm-commune"]["title"] == "Chi tiết xã"
    assert state.dashboards["cm-commune"]["version"] == 2
    assert state.datasources[DATASOURCE_UID]["url"] == "http://127.0.0.1:9428"


def test_file_provisioning_matches_what_push_creates() -> None:
    folder = Path(__file__).resolve().parents[2] / "dashboards" / "provisioning"
    (provider,) = yaml.safe_load((folder / "dashboards.yml").read_text(encoding="utf-8"))[
        "providers"
    ]
    assert provider["folderUid"] == FOLDER_UID
    assert provider["folder"] == FOLDER_TITLE
    assert provider["type"] == "file"
    (source,) = yaml.safe_load((folder / "datasources.yml").read_text(encoding="utf-8"))[
        "datasources"
    ]
    pushed = datasource_body(source["url"])
    assert {key: source[key] for key in pushed} == pushed
