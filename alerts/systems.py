"""Central systems as data: which probe targets belong to which system (``systems.yaml``).

A province's PCs probe several central systems, each with its own vendor: the provincial
procedure system (one-stop, "motcua"), the National Public Service Portal, CA endpoints... A
failure of one is one ``software_outage`` for that system, routed by its id (routing.yaml
``systems:``). A probe sample belongs to the system whose id or ``targets`` name its ``target``
label (the probe's name in the agent's config); failing that, to the first system in file order
whose ``hosts`` pattern (fnmatch, e.g. ``motcua.*.gov.vn``) matches its ``host`` label (the URL
host). A probe of anything undeclared is a system of its own, named after its target, so nothing
is lost. Errors name the file, the system and the field, as rules.yaml's do.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from alerts.errors import RulesError
from alerts.rules import yaml_mapping

# A system id is also a probe name it owns, so it follows the agent's probe names
# (agent/checks/common.py NAME_PATTERN) and fits the tickets' ``system`` column.
SYSTEM_ID = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
_HOST_PATTERN = r"^[a-z0-9*?.\-]{1,253}$"


def _lower(value: Any) -> Any:
    # Host names compare case-insensitively (RFC 4343); the agent reports them lower-case.
    if isinstance(value, list):
        return [item.lower() if isinstance(item, str) else item for item in value]
    return value


class System(BaseModel):
    """One central system: its names for ticket text and the probes that belong to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=SYSTEM_ID)
    name_vi: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    # Probe names (the ``target`` label) of this system, besides its id.
    targets: tuple[Annotated[str, Field(pattern=SYSTEM_ID)], ...] = ()
    # URL host patterns (the ``host`` label), fnmatch syntax: ``*`` and ``?``.
    hosts: Annotated[
        tuple[Annotated[str, Field(pattern=_HOST_PATTERN)], ...], BeforeValidator(_lower)
    ] = ()
    # False: not in systems.yaml, made up for one probe target so that nothing is lost.
    declared: bool = True


def undeclared_system(target: str, host: str | None) -> System:
    """The system of a probe target nobody declared: its own, named after the target."""
    where = f"{target} ({host})" if host and host != target else target
    return System.model_construct(
        id=target,
        name_vi=f"hệ thống {where}, chưa khai báo trong systems.yaml",
        name_en=f"system {where}, not declared in systems.yaml",
        targets=(),
        hosts=(),
        declared=False,
    )


@dataclass
class SystemMap:
    """The systems of a province and the lookup from a probe's labels to its system."""

    systems: tuple[System, ...]
    source: str = "systems.yaml"
    _by_target: dict[str, System] = field(init=False, repr=False)
    _cache: dict[tuple[str, str | None], System] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_target = {}
        for system in self.systems:
            for name in (system.id, *system.targets):
                self._by_target[name] = system
        self._cache = {}

    @property
    def ids(self) -> frozenset[str]:
        """The declared system ids."""
        return frozenset(system.id for system in self.systems)

    def get(self, system_id: str) -> System | None:
        """A declared system by id, or None."""
        return next((system for system in self.systems if system.id == system_id), None)

    def system_for(self, target: str | None, host: str | None) -> System | None:
        """The system a probe sample belongs to; None for a sample naming neither target nor
        host (nothing to compare across communes)."""
        name = target or host
        if name is None:
            return None
        key = (name, host)
        found = self._cache.get(key)
        if found is None:
            found = (
                self._by_target.get(name) or self._by_host(host) or undeclared_system(name, host)
            )
            if len(self._cache) < 10_000:  # bounded: labels come from agents
                self._cache[key] = found
        return found

    def _by_host(self, host: str | None) -> System | None:
        if not host:
            return None
        host = host.lower()
        for system in self.systems:
            if any(fnmatch.fnmatchcase(host, pattern) for pattern in system.hosts):
                return system
        return None


def _error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(entry)"
    return f"field '{where}': {first['msg']} (got {first.get('input')!r})"


def parse_systems(text: str, source: str = "systems.yaml") -> SystemMap:
    """Validate a systems document; errors name the file, the system and the field."""
    data = yaml_mapping(text, source, ["systems"], "field", "'systems'")
    raw_systems: Any = data.get("systems") or {}
    if not isinstance(raw_systems, dict):
        raise RulesError(f"{source}, field 'systems': expected a mapping of system ids")
    systems: list[System] = []
    owner_of: dict[str, str] = {}
    for system_id, raw in raw_systems.items():
        where = f"{source} system '{system_id}'"
        if not isinstance(raw, dict):
            raise RulesError(f"{where}: expected a mapping with name_vi, name_en, targets, hosts")
        if "id" in raw or "declared" in raw:
            bad = "id" if "id" in raw else "declared"
            raise RulesError(f"{where}, field '{bad}': not allowed (the key is the id)")
        try:
            system = System.model_validate({**raw, "id": system_id})
        except ValidationError as exc:
            raise RulesError(f"{where}, {_error(exc)}") from None
        names = [("id", system.id)] + [
            (f"targets.{n}", name) for n, name in enumerate(system.targets)
        ]
        for field_name, name in names:
            other = owner_of.get(name)
            if other is not None and other != system.id:
                raise RulesError(
                    f"{where}, field '{field_name}': probe target {name!r} already belongs to "
                    f"system '{other}'"
                )
            owner_of[name] = system.id
        for number, pattern in enumerate(system.hosts):
            if set(pattern) <= {"*", "?", "."}:
                raise RulesError(
                    f"{where}, field 'hosts.{number}': {pattern!r} matches every host; name the "
                    "system's domain, e.g. 'motcua.*.gov.vn'"
                )
        systems.append(system)
    return SystemMap(tuple(systems), source)


def load_systems(path: Path | None = None) -> SystemMap:
    """A systems file, or the bundled defaults."""
    if path is None:
        text = resources.files("alerts").joinpath("systems.yaml").read_text(encoding="utf-8")
        return parse_systems(text, "systems.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_systems(text, path.name)
