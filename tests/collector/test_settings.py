"""Settings: defaults < TOML file < environment < explicit options."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from collector.settings import load_settings


def test_toml_file_then_environment_then_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('port = 9001\nheartbeat_seconds = 20.0\nhost = "0.0.0.0"\n', encoding="utf-8")
    from_file = load_settings(config)
    assert (from_file.port, from_file.heartbeat_seconds, from_file.host) == (9001, 20.0, "0.0.0.0")
    monkeypatch.setenv("COMMUNE_MONITOR_PORT", "9002")
    from_env = load_settings(config)
    assert from_env.port == 9002
    assert from_env.heartbeat_seconds == 20.0
    assert load_settings(config, port=9003).port == 9003


def test_default_store_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'commune-monitor.db'}"


def test_unknown_and_invalid_settings_name_the_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("prot = 1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="prot"):
        load_settings(config)
    with pytest.raises(ValidationError, match="sqlite_synchronous"):
        load_settings(sqlite_synchronous="OFF")
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        load_settings(tmp_path / "missing.toml")


def test_sections_take_their_flat_names_from_every_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "collector.toml"
    config.write_text(
        'smtp_host = "file-relay"\nsmtp_port = 2525\n[influx]\nurl = "http://vm:8428"\n',
        encoding="utf-8",
    )
    from_file = load_settings(config)
    assert (from_file.smtp.host, from_file.smtp.port) == ("file-relay", 2525)
    assert from_file.influx.url == "http://vm:8428"
    # The environment's flat name beats the file's, an explicit option beats both.
    monkeypatch.setenv("COMMUNE_MONITOR_SMTP_HOST", "env-relay")
    monkeypatch.setenv("COMMUNE_MONITOR_ALERTS_ENABLED", "false")
    from_env = load_settings(config)
    assert (from_env.smtp.host, from_env.smtp.port, from_env.alerts.enabled) == (
        "env-relay",
        2525,
        False,
    )
    assert load_settings(config, smtp_host="cli-relay").smtp.host == "cli-relay"


def test_a_misspelt_section_field_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="smtp_hots"):
        load_settings(smtp_hots="relay")
    with pytest.raises(ValidationError, match="hots"):
        load_settings(smtp={"hots": "relay"})


def test_a_copy_takes_flat_section_names_too() -> None:
    base = load_settings(smtp_host="relay")
    copy = base.model_copy(update={"alerts_enabled": False, "smtp_port": 2525, "port": 9000})
    assert (copy.alerts.enabled, copy.smtp.port, copy.smtp.host, copy.port) == (
        False,
        2525,
        "relay",
        9000,
    )
    assert base.alerts.enabled
    assert base.smtp.port == 25
