"""The ``commune-monitor`` CLI on a real store: each command, its errors and its help."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from collector.schema import communes, enrol_tokens
from province.cli import app
from province.migrate import head_revision

runner = CliRunner()


def _invoke(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", url, *args])
    return result.exit_code, result.output


def test_upgrade_load_enrol_and_list(store_url: str) -> None:
    code, out = _invoke(store_url, "db", "upgrade")
    assert code == 0, out
    assert f"schema at {head_revision()}" in out
    code, out = _invoke(store_url, "communes", "load", "--province", "37")
    assert code == 0, out
    assert "1 provinces and 129 communes" in out
    # Loading again changes nothing: the load is idempotent.
    code, out = _invoke(store_url, "communes", "load", "--province", "37")
    assert "1 provinces and 129 communes" in out
    code, token = _invoke(store_url, "enrol-token", "create", "--commune", "13285")
    assert code == 0, token
    assert token.strip().startswith("enr_")
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(enrol_tokens)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(communes)).scalar_one() == 129
    engine.dispose()
    code, out = _invoke(store_url, "agents", "list")
    assert code == 0
    assert "0 agent(s)" in out


def test_full_list_has_every_unit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'all.db'}"
    assert _invoke(url, "db", "upgrade")[0] == 0
    code, out = _invoke(url, "communes", "load")
    assert code == 0
    assert "34 provinces and 3321 communes" in out


def test_enrol_token_for_unknown_commune_fails_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    _invoke(url, "db", "upgrade")
    code, out = _invoke(url, "enrol-token", "create", "--commune", "99999")
    assert code == 2
    assert "commune '99999' is not in the store" in out


def test_bad_csv_names_line_and_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    _invoke(url, "db", "upgrade")
    bad = tmp_path / "units.csv"
    bad.write_text(
        "province_code,province_name,commune_code,commune_name,commune_type\n"
        "37,Ninh Bình,13285,Phường Châu Sơn,phường\n"
        "37,Ninh Bình,1329,Phường Phủ Lý,phường\n",
        encoding="utf-8",
    )
    code, out = _invoke(url, "communes", "load", "--csv", str(bad))
    assert code == 2
    assert "line 3, column 'commune_code'" in out
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(communes)).scalar_one() == 0
    engine.dispose()


def test_bad_setting_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "cm.toml"
    config.write_text('port = "eighty"\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "agents", "list"])
    assert result.exit_code == 2
    assert "port" in result.output


def test_help_explains_settings_and_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "COMMUNE_MONITOR_" in result.output
    for command in ("serve", "db", "communes", "enrol-token", "agents"):
        assert command in result.output
    serve_help = runner.invoke(app, ["serve", "--help"]).output
    assert "--workers" in serve_help
