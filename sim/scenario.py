"""Faults from a YAML scenario, resolved against a fleet, and the incidents they should cause.

A scenario names faults by type, start (offset from the start of the live run, e.g. ``30m``, or
an ISO time), duration and target. Targets are portable across provinces: a commune is its code
or its position in the fleet (``commune: 2`` = the third commune), a device is its id or a kind
and position within a commune (for the signing faults, among the commune's PCs that have what
the fault strikes: a token, or the VNPT-CA Plugin). ``saturday_morning`` lists communes whose
centre also opens on Saturday morning (the demo writes them into its working calendar).
:meth:`Scenario.resolve` pins everything to times and ids and produces the **ground truth**
(:mod:`sim.truth`), judged against the working calendar, and the maintenance windows the
scenario declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine

from agent.wire import DeviceKind
from alerts import windows as window_store
from alerts.calendar import WorkingCalendar, load_calendar
from alerts.windows import WindowSpec
from collector.errors import CollectorError
from sim.faults import (
    DEVICE_FAULT_KINDS,
    PROVINCE_FAULTS,
    SIGNING_NEEDS,
    SOFTWARE_FAULTS,
    SYSTEM_REQUIRED,
    Fault,
    FaultType,
)
from sim.fleet import Fleet, SimCommune, SimDevice
from sim.truth import ExpectedIncident, declared_window, expected_incidents


class ScenarioError(CollectorError):
    """A scenario file is unreadable or names something that does not exist."""


_PART = r"(\d+(?:\.\d+)?)\s*([smhd])"
_DURATION = re.compile(rf"^\s*(?:{_PART}\s*)+$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | float) -> timedelta:
    """``90s``, ``45m``, ``2h``, ``1.5d``, ``1d15h30m`` or a number of seconds."""
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    if _DURATION.match(text) is None:
        raise ValueError(f"{text!r} is not a duration such as '90s', '45m', '2h' or '1d15h30m'")
    return timedelta(
        seconds=sum(float(number) * _UNIT_SECONDS[unit] for number, unit in re.findall(_PART, text))
    )


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
        default=None,
        description="software faults: which probed system fails (required for maintenance)",
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


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario pinned to a fleet and a start time."""

    name: str
    faults: tuple[Fault, ...]
    ground_truth: tuple[ExpectedIncident, ...]
    # Maintenance windows the scenario declares (declared_maintenance), to create on the store.
    windows: tuple[WindowSpec, ...] = ()
    # Communes whose centre also opens on Saturday morning.
    saturday_communes: tuple[str, ...] = ()

    def declare_windows(self, engine: Engine, now: datetime, author: str = "sim") -> int:
        """Create the scenario's maintenance windows on the store, as an operator would;
        returns how many."""
        with engine.begin() as conn:
            for spec in self.windows:
                window_store.create(conn, spec, author, now)
        return len(self.windows)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file."""

    name: str
    description: str
    source: str
    faults: tuple[FaultSpec, ...]
    saturday_morning: tuple[str | int, ...] = ()

    def resolve(
        self, fleet: Fleet, start: datetime, calendar: WorkingCalendar | None = None
    ) -> ResolvedScenario:
        """Pin every fault to ``fleet`` and times after ``start``, with its ground truth by
        ``calendar`` (default: the bundled one); errors name the fault and the field."""
        calendar = calendar if calendar is not None else load_calendar()
        faults: list[Fault] = []
        truth: list[ExpectedIncident] = []
        for number, spec in enumerate(self.faults):
            where = f"{self.source} fault {number} ({spec.id or spec.type.value})"
            fault = _resolve_fault(spec, fleet, start, where, number)
            faults.append(fault)
            truth.extend(expected_incidents(fault, fleet, calendar))
        saturday = tuple(
            _pick_commune(fleet, value, f"{self.source}, field 'saturday_morning'").code
            for value in self.saturday_morning
        )
        return ResolvedScenario(
            self.name,
            tuple(faults),
            tuple(truth),
            tuple(declared_window(f) for f in faults if f.type is FaultType.DECLARED_MAINTENANCE),
            saturday,
        )


def _pick_commune(fleet: Fleet, value: str | int | None, where: str) -> SimCommune:
    """The commune ``value`` names; ``where`` ends with the field (default target.commune)."""
    if "field '" not in where:
        where = f"{where}, field 'target.commune'"
    if value is None:
        raise ScenarioError(f"{where}: required for this target")
    if isinstance(value, int):
        if value >= len(fleet.communes):
            raise ScenarioError(
                f"{where}: position {value} is beyond the fleet's {len(fleet.communes)} communes"
            )
        return fleet.communes[value]
    try:
        return fleet.commune(value)
    except KeyError:
        raise ScenarioError(f"{where}: {value!r} is not a commune of this fleet") from None


def _pick_device(fleet: Fleet, spec: FaultSpec, where: str) -> SimDevice:
    target = spec.target
    allowed = DEVICE_FAULT_KINDS[spec.type]
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
        candidates = [
            d for d in commune.devices if d.kind in kinds and _has_what_it_needs(spec.type, d)
        ]
        if target.index >= len(candidates):
            needs = SIGNING_NEEDS.get(spec.type)
            what = f" with {_NEED_TEXT[needs]}" if needs else ""
            raise ScenarioError(
                f"{where}, field 'target.index': commune {commune.code} has {len(candidates)} "
                f"device(s) of kind {', '.join(sorted(kinds))}{what}"
            )
        device = candidates[target.index]
    if allowed is not None and device.kind not in allowed:
        field = "target.device" if target.device is not None else "target.kind"
        raise ScenarioError(
            f"{where}, field '{field}': {spec.type.value} needs a device of kind "
            f"{', '.join(sorted(allowed))}, not {device.kind.value}"
        )
    if not _has_what_it_needs(spec.type, device):
        raise ScenarioError(
            f"{where}, field 'target.device': {spec.type.value} needs a PC with "
            f"{_NEED_TEXT[SIGNING_NEEDS[spec.type]]}; {device.device_id} has none"
        )
    return device


_NEED_TEXT = {"token": "a clerk's USB token", "vnpt_ca": "the VNPT-CA Plugin"}


def _has_what_it_needs(fault: FaultType, device: SimDevice) -> bool:
    """Whether ``device`` has what a signing fault strikes (any device for other faults)."""
    needs = SIGNING_NEEDS.get(fault)
    if needs is None:
        return True
    setup = device.pc
    if setup is None:
        return False
    return setup.token is not None if needs == "token" else needs in setup.bridges


def _names_a_place(spec: FaultSpec) -> bool:
    """Whether a fault of the whole province was aimed at a commune or a device."""
    target = spec.target
    return target.scope == "device" or target.commune is not None or target.device is not None


def _resolve_fault(
    spec: FaultSpec, fleet: Fleet, start: datetime, where: str, number: int
) -> Fault:
    begin = spec.start if isinstance(spec.start, datetime) else start + _duration(spec.start)
    end = begin + _duration(spec.duration)
    commune_code: str | None = None
    device_id: str | None = None
    software = spec.type in SOFTWARE_FAULTS
    if spec.target.system is not None and not software:
        raise ScenarioError(
            f"{where}, field 'target.system': only the software faults "
            f"({', '.join(sorted(SOFTWARE_FAULTS))}) name a system"
        )
    if spec.type in SYSTEM_REQUIRED:
        if spec.target.system is None:
            raise ScenarioError(
                f"{where}, field 'target.system': {spec.type.value} needs the central system "
                "that shows its maintenance page (motcua or dvcqg)"
            )
        if _names_a_place(spec):
            raise ScenarioError(
                f"{where}, field 'target.scope': a maintenance page is shown to every commune; "
                "use scope 'province'"
            )
    if spec.type in DEVICE_FAULT_KINDS:
        device = _pick_device(fleet, spec, where)
        commune_code, device_id = device.commune_code, device.device_id
    elif software:
        if spec.type not in SYSTEM_REQUIRED and spec.target.scope != "province":
            commune_code = _pick_commune(fleet, spec.target.commune, where).code
    elif spec.type in PROVINCE_FAULTS:
        if _names_a_place(spec):
            raise ScenarioError(
                f"{where}, field 'target.scope': {spec.type.value} strikes the whole province; "
                "use scope 'province'"
            )
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
    unknown = set(data) - {"name", "description", "saturday_morning", "faults"}
    if unknown:
        raise ScenarioError(
            f"{source}: unknown field(s) {', '.join(sorted(unknown))}; "
            "allowed: name, description, saturday_morning, faults"
        )
    saturday = data.get("saturday_morning") or []
    if not isinstance(saturday, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in saturday
    ):
        raise ScenarioError(
            f"{source}, field 'saturday_morning': expected a list of commune codes or positions "
            f"(got {saturday!r})"
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
        saturday_morning=tuple(saturday),
    )


def load_scenario(path: Path | None = None) -> Scenario:
    """A scenario file, or the bundled ``default.yaml``."""
    if path is None:
        text = (
            resources.files("sim").joinpath("scenarios", "default.yaml").read_text(encoding="utf-8")
        )
        return parse_scenario(text, "default.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, path.name)
