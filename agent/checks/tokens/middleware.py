"""The CAs' PKCS#11 modules as data (``middleware.yaml``), and which of them exist on this PC.

Loaded in the token reader's process only (``agent.checks.tokens.reader``): PyYAML must not stay
resident in the agent service. Discovery is a pure function of the data, the platform, the
environment and a file-existence test, so it is tested for Windows on Linux.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MIDDLEWARE_PATH = Path(__file__).with_name("middleware.yaml")
Platform = Literal["windows", "linux", "darwin"]
_WINDOWS_VAR = re.compile(r"%([A-Za-z_][A-Za-z0-9_()]*)%")
# Where Windows keeps itself when %SystemRoot% is unset (a service's minimal environment).
_WINDOWS_DEFAULTS = {"SystemRoot": r"C:\Windows", "ProgramFiles": r"C:\Program Files"}


class CaModules(BaseModel):
    """The module file names of one CA (or token vendor) per OS, with where they were read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ca: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1)
    windows: tuple[str, ...] = ()
    linux: tuple[str, ...] = ()
    darwin: tuple[str, ...] = ()


class Middleware(BaseModel):
    """The whole data file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    search_dirs: dict[Platform, tuple[str, ...]]
    modules: tuple[CaModules, ...]


class Candidate(BaseModel):
    """A module file to look for: which CA's, and its full path on this PC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ca: str
    path: str


def load_middleware(path: Path = MIDDLEWARE_PATH) -> Middleware:
    """Read and validate the data file (pydantic's ValidationError names a bad entry)."""
    import yaml

    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Middleware.model_validate(data)


def platform_key(sys_platform: str) -> Platform:
    """``windows``, ``darwin`` or ``linux`` (any other POSIX) for a ``sys.platform`` value."""
    if sys_platform == "win32":
        return "windows"
    if sys_platform == "darwin":
        return "darwin"
    return "linux"


def expand(path: str, platform: Platform, environ: Mapping[str, str]) -> str:
    """``%VAR%`` (Windows) and ``$VAR`` expanded from ``environ``; unknown names stay."""
    if platform == "windows":
        lowered = {k.lower(): v for k, v in {**_WINDOWS_DEFAULTS, **environ}.items()}
        return _WINDOWS_VAR.sub(lambda m: lowered.get(m.group(1).lower(), m.group(0)), path)
    return re.sub(
        r"\$([A-Za-z_][A-Za-z0-9_]*)", lambda m: environ.get(m.group(1), m.group(0)), path
    )


def _join(folder: str, name: str, platform: Platform) -> str:
    separator = "\\" if platform == "windows" else "/"
    return folder.rstrip("\\/") + separator + name


def _has_folder(name: str) -> bool:
    return "/" in name or "\\" in name


def known_candidates(
    middleware: Middleware, platform: Platform, environ: Mapping[str, str]
) -> list[Candidate]:
    """Every path where a known CA module may be on ``platform``, in the data's order."""
    folders = [expand(d, platform, environ) for d in middleware.search_dirs.get(platform, ())]
    found: list[Candidate] = []
    for entry in middleware.modules:
        for name in getattr(entry, platform):
            if _has_folder(name):
                found.append(Candidate(ca=entry.ca, path=expand(name, platform, environ)))
            else:
                found += [Candidate(ca=entry.ca, path=_join(d, name, platform)) for d in folders]
    return found


def existing_modules(
    candidates: Iterable[Candidate],
    *,
    exists: Callable[[str], bool] = os.path.isfile,
    identity: Callable[[str], str] = os.path.realpath,
) -> list[Candidate]:
    """The candidates whose file exists, each file once (a PKCS#11 module must not load twice)."""
    seen: set[str] = set()
    kept: list[Candidate] = []
    for candidate in candidates:
        if not exists(candidate.path):
            continue
        key = os.path.normcase(identity(candidate.path))
        if key in seen:
            continue
        seen.add(key)
        kept.append(candidate)
    return kept
