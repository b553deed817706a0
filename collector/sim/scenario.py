"""Faults from a YAML scenario, resolved against a fleet, and the incidents they should cause.

A scenario names faults by type, start (offset from the start of the live run, e.g. ``30m``, or
an ISO time), duration and target. Targets are portable across provinces: a commune is its code
or its position in the fleet (``commune: 2`` = the third commune), a device is its id or a kind
and position within a commune. :meth:`Scenario.resolve` pins them to times and ids and produces
the **ground truth**: one expected incident per fault, in the problem-class words of DESIGN.md,
which the alerting tests compare against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.wire import DeviceKind
from collector.errors import CollectorError
from collector.sim.fleet import Fleet, SimCommune, SimDevice


class ScenarioError(CollectorError):
    """A scenario file is unreadable or names something that does not exist."""


class FaultType(StrEnum):
    """What can go wrong (DOMAIN.md §5 failure patterns)."""

    LINK_DOWN = "link_down"
    LINK_FLAPPING = "link_flapping"
    SOFTWARE_OUTAGE = "software_outage"
    SOFTWARE_SLOW = "software_slow"
    DEVICE_OFF = "device_off"
    PRINTER_JAM = "printer_jam"
    PRINTER_DOOR_OPEN = "printer_door_open"
    TONER_EMPTY = "toner_empty"
    DISK_FULL = "disk_full"
    SMART_FAILURE = "smart_failure"


# Faults aimed at one device, and the device kinds each accepts.
_PRINTERS = frozenset({DeviceKind.PRINTER, DeviceKind.MFP})
_DEVICE_FAULT_KINDS: dict[FaultType, frozenset[DeviceKind] | None] = {
    FaultType.DEVICE_OFF: None,
    FaultType.PRINTER_JAM: _PRINTERS,
    FaultType.PRINTER_DOOR_OPEN: _PRINTERS,
    FaultType.TONER_EMPTY: _PRINTERS,
    FaultType.DISK_FULL: frozenset({DeviceKind.PC}),
    FaultType.SMART_FAILURE: frozenset({DeviceKind.PC}),
}
_PROBLEM_CLASS: dict[FaultType, str] = {
    FaultType.LINK_DOWN: "site_outage",
    FaultType.LINK_FLAPPING: "site_link_degraded",
    FaultType.DEVICE_OFF: "device_down",
    FaultType.PRINTER_JAM: "printer_fault",
    FaultType.PRINTER_DOOR_OPEN: "printer_fault",
    FaultType.TONER_EMPTY: "printer_supply_low",
    FaultType.DISK_FULL: "device_health",
    FaultType.SMART_FAILURE: "device_health",
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | float) -> timedelta:
    """``90s``, ``45m``, ``2h``, ``1.5d`` or a number of seconds."""
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as '90s', '45m', '2h' or '1d'")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError(f"{value!r} is not a duration")


class Target(BaseModel):
    """Where a fault strikes: the province, a commune, or a device of a commune."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: Literal["province", "commune", "device"] = "commune"
    commune: str | int | None = Field(
        default=None, description="Commune code (5 digits) or position in the fleet (0 = first)"
    )
    device: str | None = Field(default=None, description="Device id (asset tag)")
    kind: DeviceKind | None = Field(default=None, description="Device kind, with 'index'")
    index: int = Field(default=0, ge=0, description="Which device of that kind (0 = first)")
    # Software faults only: the central system (the probe target) that fails; None = every one.
    system: Literal["motcua", "dvcqg"] | None = Field(
        default=None, description="software_outage/software_slow: which probed system fails"
    )


class FaultSpec(BaseModel):
    """One fault as written in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    type: FaultType
    start: str | int | float | datetime
    duration: Annotated[str | int | float, Field()]
    target: Target = Target(scope="province")
    period: str | int | float = Field(default="5m", description="link_flapping: down/up period")

    @field_validator("duration", "period")
    @classmethod
    def _is_duration(cls, value: str | float) -> str | float:
        if _duration(value) <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @field_validator("start")
    @classmethod
    def _is_start(cls, value: str | float | datetime) -> str | float | datetime:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("an absolute start must carry a time zone")
            return value
        _duration(value)
        return value


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault pinned to times and ids."""

    id: str
    type: FaultType
    start: datetime
    end: datetime
    commune_code: str | None  # None: the whole province
    device_id: str | None
    period: timedelta
    system: str | None = None  # software faults: the one probe target that fails (None: all)

    def active(self, at: datetime) -> bool:
        """Whether the fault holds at ``at`` (a flapping link is down every other period)."""
        if not self.start <= at < self.end:
            return False
        if self.type is FaultType.LINK_FLAPPING:
            phase = int((at - self.start) / self.period)
            return phase % 2 == 0
        return True


@dataclass(frozen=True, slots=True)
class ExpectedIncident:
    """One incident the scenario should produce (the ground truth)."""

    problem_class: str
    commune_code: str | None
    device_id: str | None
    start: datetime
    end: datetime
    fault_id: str
    system: str | None = None  # software faults limited to one central system


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario pinned to a fleet and a start time."""

    name: str
    faults: tuple[Fault, ...]
    ground_truth: tuple[ExpectedIncident, ...]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file."""

    name: str
    description: str
    source: str
    faults: tuple[FaultSpec, ...]

    def resolve(self, fleet: Fleet, start: datetime) -> ResolvedScenario:
        """Pin every fault to ``fleet`` and times after ``start``; errors name fault and field."""
        faults: list[Fault] = []
        truth: list[ExpectedIncident] = []
        for number, spec in enumerate(self.faults):
            where = f"{self.source} fault {number} ({spec.id or spec.type.value})"
            fault = _resolve_fault(spec, fleet, start, where, number)
            faults.append(fault)
            truth.append(
                ExpectedIncident(
                    problem_class=_problem_class(fault),
                    commune_code=fault.commune_code,
                    device_id=fault.device_id,
                    start=fault.start,
                    end=fault.end,
                    fault_id=fault.id,
                    system=fault.system,
                )
            )
        return ResolvedScenario(self.name, tuple(faults), tuple(truth))


def _problem_class(fault: Fault) -> str:
    if fault.type in (FaultType.SOFTWARE_OUTAGE, FaultType.SOFTWARE_SLOW):
        # Province-wide trouble of the central system is one vendor incident (invariant 3); at a
        # single commune the same symptoms are that site's problem.
        return "software_outage" if fault.commune_code is None else "software_slow_site"
    return _PROBLEM_CLASS[fault.type]


def _pick_commune(fleet: Fleet, value: str | int | None, where: str) -> SimCommune:
    if value is None:
        raise ScenarioError(f"{where}, field 'target.commune': required for this target")
    if isinstance(value, int):
        if value >= len(fleet.communes):
            raise ScenarioError(
                f"{where}, field 'target.commune': position {value} is beyond the fleet's "
                f"{len(fleet.communes)} communes"
            )
        return fleet.communes[value]
    try:
        return fleet.commune(value)
    except KeyError:
        raise ScenarioError(
            f"{where}, field 'target.commune': {value!r} is not a commune of this fleet"
        ) from None


def _pick_device(fleet: Fleet, spec: FaultSpec, where: str) -> SimDevice:
    target = spec.target
    allowed = _DEVICE_FAULT_KINDS[spec.type]
    if target.device is not None:
        found = [d for d in fleet.devices if d.device_id == target.device]
        if not found:
            raise ScenarioError(
                f"{where}, field 'target.device': {target.device!r} is not a device of this fleet"
            )
        device = found[0]
    else:
        commune = _pick_commune(fleet, target.commune, where)
        kind = target.kind
        if kind is None:
            if allowed is None:
                raise ScenarioError(f"{where}, field 'target.kind': required without 'device'")
            kinds = allowed
        else:
            kinds = frozenset({kind})
        candidates = [d for d in commune.devices if d.kind in kinds]
        if target.index >= len(candidates):
            raise ScenarioError(
                f"{where}, field 'target.index': commune {commune.code} has {len(candidates)} "
                f"device(s) of kind {', '.join(sorted(kinds))}"
            )
        device = candidates[target.index]
    if allowed is not None and device.kind not in allowed:
        field = "target.device" if target.device is not None else "target.kind"
        raise ScenarioError(
            f"{where}, field '{field}': {spec.type.value} needs a device of kind "
            f"{', '.join(sorted(allowed))}, not {device.kind.value}"
        )
    return device


def _resolve_fault(
    spec: FaultSpec, fleet: Fleet, start: datetime, where: str, number: int
) -> Fault:
    begin = spec.start if isinstance(spec.start, datetime) else start + _duration(spec.start)
    end = begin + _duration(spec.duration)
    commune_code: str | None = None
    device_id: str | None = None
    software = spec.type in (FaultType.SOFTWARE_OUTAGE, FaultType.SOFTWARE_SLOW)
    if spec.target.system is not None and not software:
        raise ScenarioError(
            f"{where}, field 'target.system': only software_outage and software_slow name a system"
        )
    if spec.type in _DEVICE_FAULT_KINDS:
        device = _pick_device(fleet, spec, where)
        commune_code, device_id = device.commune_code, device.device_id
    elif software:
        if spec.target.scope != "province":
            commune_code = _pick_commune(fleet, spec.target.commune, where).code
    else:
        if spec.target.scope == "province":
            raise ScenarioError(
                f"{where}, field 'target.scope': {spec.type.value} strikes one commune; "
                "give 'commune'"
            )
        commune_code = _pick_commune(fleet, spec.target.commune, where).code
    return Fault(
        id=spec.id or f"{spec.type.value}-{number}",
        type=spec.type,
        start=begin,
        end=end,
        commune_code=commune_code,
        device_id=device_id,
        period=_duration(spec.period),
        system=spec.target.system,
    )


def parse_scenario(text: str, source: str) -> Scenario:
    """Validate a scenario document; errors name the file, the fault and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping with 'name' and 'faults'")
    unknown = set(data) - {"name", "description", "faults"}
    if unknown:
        raise ScenarioError(
            f"{source}: unknown field(s) {', '.join(sorted(unknown))}; "
            "allowed: name, description, faults"
        )
    raw_faults = data.get("faults") or []
    if not isinstance(raw_faults, list):
        raise ScenarioError(f"{source}, field 'faults': expected a list")
    faults: list[FaultSpec] = []
    for number, raw in enumerate(raw_faults):
        label = raw.get("id") if isinstance(raw, dict) else None
        try:
            faults.append(FaultSpec.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "(fault)"
            raise ScenarioError(
                f"{source} fault {number}{f' ({label})' if label else ''}, field '{field}': "
                f"{first['msg']} (got {first.get('input')!r})"
            ) from None
    return Scenario(
        name=str(data.get("name") or Path(source).stem),
        description=str(data.get("description") or ""),
        source=source,
        faults=tuple(faults),
    )


def load_scenario(path: Path | None = None) -> Scenario:
    """A scenario file, or the bundled ``default.yaml``."""
    if path is None:
        text = (
            resources.files("collector.sim")
            .joinpath("scenarios", "default.yaml")
            .read_text(encoding="utf-8")
        )
        return parse_scenario(text, "default.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, path.name)
