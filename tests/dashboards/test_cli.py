"""``commune-monitor dashboards build|push`` (dashboards/cli.py): one file per dashboard; a push
from a folder of JSON against the recorded Grafana API contract, refusals as clear errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards.build import all_dashboards, write
from province.cli import app
from tests.dashboards.fake_grafana import GrafanaState, fake_grafana
from tests.services import free_port

TOKEN = "glsa_test_token"
TSDB = "http://127.0.0.1:8428"
DASHBOARDS = all_dashboards()
runner = CliRunner()


@pytest.fixture
def grafana() -> Iterator[tuple[str, GrafanaState]]:
    with fake_grafana(TOKEN) as served:
        yield served


def _push_cli(url: str, *extra: str, token: str = TOKEN) -> tuple[int, str]:
    result = runner.invoke(
        app, ["dashboards", "push", "--url", url, "--token", token, *extra], env={}
    )
    return result.exit_code, result.output


def test_cli_push_from_a_folder_of_json(grafana: tuple[str, GrafanaState], tmp_path: Path) -> None:
    url, state = grafana
    write(tmp_path / "json")
    code, out = _push_cli(url, "--dir", str(tmp_path / "json"))
    assert code == 0, out
    assert "created   dashboard/cm-province" in out
    assert "datasource" not in out  # no --datasource-url: the data source is left alone
    assert state.datasources == {}
    code, out = _push_cli(url, "--dir", str(tmp_path / "json"), "--datasource-url", TSDB)
    assert code == 0, out
    assert "created   datasource/" in out
    assert "unchanged dashboard/cm-province-en" in out


def test_cli_push_refused_token_is_a_clear_error(grafana: tuple[str, GrafanaState]) -> None:
    url, state = grafana
    code, out = _push_cli(url, token="wrong")
    assert code == 2
    assert "answered 401" in out
    assert state.writes() == []


def test_cli_push_unreachable_grafana_is_a_clear_error() -> None:
    code, out = _push_cli(f"http://127.0.0.1:{free_port()}")
    assert code == 2
    assert "cannot reach Grafana" in out


def test_cli_push_rejects_a_file_without_uid(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"title": "x"}), encoding="utf-8")
    code, out = _push_cli("http://127.0.0.1:1", "--dir", str(tmp_path))
    assert code == 2
    assert "bad.json: field 'uid' is missing" in out


def test_build_command_writes_one_file_per_dashboard(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboards", "build", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "out").glob("*.json"))
    assert sorted(f.stem for f in files) == sorted(DASHBOARDS)
    written = json.loads(files[0].read_text(encoding="utf-8"))
    assert written == DASHBOARDS[files[0].stem]
