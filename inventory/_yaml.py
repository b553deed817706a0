"""Load a YAML data file into a pydantic model, turning every failure into a ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from inventory.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml(path: Path) -> Any:
    """The parsed content of ``path``; unreadable files and YAML syntax errors raise ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("the file is not UTF-8 text", file=str(path)) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML{where}: {exc}", file=str(path)) from exc


def config_error(exc: ValidationError, *, file: str) -> ConfigError:
    """The first validation error as a ConfigError naming file, key path and field."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = first["loc"]
    field = str(loc[-1]) if loc else ""
    key = _key_path(loc[:-1]) if loc else ""
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) and value is not None else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(f"{message}{shown}{more}", file=file, key=key, field=field)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def load_model(path: Path, model: type[ModelT]) -> ModelT:
    """Read ``path`` and validate it as ``model``; any problem raises ConfigError."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", file=str(path))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, file=str(path)) from exc
