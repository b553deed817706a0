"""Loading YAML data into models: every failure is a ConfigError naming file, key and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from inventory._yaml import load_model, read_yaml
from inventory.errors import ConfigError


class Rate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    percent: float


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rates: list[Rate]


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "data.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_becomes_the_model(tmp_path: Path) -> None:
    table = load_model(write(tmp_path, "rates:\n  - percent: 20\n"), Table)
    assert table.rates[0].percent == 20


def test_a_bad_value_names_the_key_path_field_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "rates:\n  - percent: 20\n  - percent: lots\n")
    with pytest.raises(ConfigError) as caught:
        load_model(path, Table)
    error = caught.value
    assert (error.file, error.key, error.field) == (str(path), "rates[1]", "percent")
    assert "(got 'lots')" in str(error)


def test_unreadable_not_utf8_not_yaml_or_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml(write(tmp_path, b"rates: \xff\n"))
    with pytest.raises(ConfigError, match="not valid YAML at line 3, column 1"):
        read_yaml(write(tmp_path, "rates:\n  - [unclosed\n"))
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_model(write(tmp_path, "- 1\n"), Table)
