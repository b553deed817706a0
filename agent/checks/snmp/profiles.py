"""Device profiles as data: sysObjectID → vendor and kind, vendor CPU/memory/serial/model OIDs,
and the supply-level quirks of each vendor.

The data lives in ``profiles.yaml`` beside this module; this module only loads it into typed,
validated models and answers "which profile does this device match".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.checks.snmp.error_state import CONDITION_NAMES
from agent.checks.snmp.errors import SnmpConfigError
from agent.checks.snmp.values import Oid, parse_oid

PROFILES_PATH = Path(__file__).with_name("profiles.yaml")

ProfileKind = Literal["printer", "mfp", "router", "switch", "firewall", "access_point", "other"]
SupplyStateName = Literal["ok", "low", "empty", "other", "unknown", "some_remaining"]


def _oid(value: object) -> object:
    if isinstance(value, str):
        return parse_oid(value)
    return value


OidField = Annotated[Oid, BeforeValidator(_oid)]
ReasonName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


def _regex(pattern: str, group: str | None = None) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regex: {exc}") from None
    if group is not None and group not in compiled.groupindex:
        raise ValueError(f"{pattern!r} needs a named group (?P<{group}>...)")
    return pattern


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CpuSource(_Frozen):
    """Where a vendor reports CPU load in percent: a column (one CPU per row) or a scalar."""

    oid: OidField
    text_pattern: str | None = Field(
        default=None,
        description="Regex with (?P<value>...) for a load sent as text, e.g. '5 Secs ( 31.1%)'",
    )
    scalar: bool = False
    label: str | None = Field(default=None, description="The 'cpu' label of a scalar source")
    name: OidField | None = Field(default=None, description="Column of row names")
    only_where_nonzero: OidField | None = None
    scale: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _label_for_scalar(self) -> CpuSource:
        if self.scalar and not self.label:
            raise ValueError("a scalar cpu source needs a 'label'")
        if self.text_pattern is not None:
            _regex(self.text_pattern, "value")
        return self


class MemorySource(_Frozen):
    """Where a vendor reports memory: a used percent, or used bytes with free or total bytes,
    or free and total bytes."""

    percent: OidField | None = None
    used: OidField | None = None
    free: OidField | None = None
    total: OidField | None = None
    scalar: bool = False
    label: str | None = None
    name: OidField | None = None
    only_where_nonzero: OidField | None = None
    unit_bytes: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _one_way(self) -> MemorySource:
        by_bytes = self.used is not None or (self.free is not None and self.total is not None)
        if (self.percent is None) != by_bytes:
            raise ValueError(
                "give either 'percent', or 'used' with 'free' or 'total', or 'free' with 'total'"
            )
        if self.used is not None and self.free is None and self.total is None:
            raise ValueError("'used' needs 'free' or 'total'")
        if self.scalar and not self.label:
            raise ValueError("a scalar memory source needs a 'label'")
        return self

    @property
    def oids(self) -> list[Oid]:
        """The value OIDs this source reads (not the name or filter columns)."""
        return [o for o in (self.percent, self.used, self.free, self.total) if o is not None]


class KindRule(_Frozen):
    """A refinement of the vendor's kind by sysObjectID prefix and/or sysDescr regex."""

    sys_object_id: OidField | None = None
    sys_descr: str | None = None
    kind: ProfileKind

    @model_validator(mode="after")
    def _something(self) -> KindRule:
        if self.sys_object_id is None and self.sys_descr is None:
            raise ValueError("a kind rule needs 'sys_object_id' or 'sys_descr'")
        if self.sys_descr is not None:
            _regex(self.sys_descr)
        return self

    def matches(self, sys_object_id: Oid | None, sys_descr: str) -> bool:
        """True if every condition of the rule holds."""
        if self.sys_object_id is not None and (
            sys_object_id is None or sys_object_id[: len(self.sys_object_id)] != self.sys_object_id
        ):
            return False
        return self.sys_descr is None or re.search(self.sys_descr, sys_descr) is not None


class VendorLevel(_Frozen):
    """A vendor's own negative prtMarkerSuppliesLevel value and the state it stands for."""

    state: SupplyStateName
    reason: ReasonName


class LevelQuirk(_Frozen):
    """A supply level a vendor reports misleadingly, recognised by its values and context, and
    re-read as a state with a reason (never as a percent)."""

    level: int = Field(description="The raw prtMarkerSuppliesLevel the quirk applies to")
    max_capacity: Literal["unknown", "known", "any"] = Field(
        default="any", description="'unknown': the maximum is negative (-1/-2) or absent"
    )
    types: list[str] = Field(
        default_factory=list, description="prtMarkerSuppliesType names it applies to; [] = all"
    )
    sibling_state: SupplyStateName | None = Field(
        default=None,
        description="Only when another row of the same colour and type has this state",
    )
    unless_errors: list[str] = Field(
        default_factory=list,
        description="hrPrinterDetectedErrorState conditions that confirm the raw level instead",
    )
    state: SupplyStateName
    reason: ReasonName

    @field_validator("unless_errors")
    @classmethod
    def _known_conditions(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - CONDITION_NAMES)
        if unknown:
            raise ValueError(f"{unknown} are not RFC 2790 conditions: {sorted(CONDITION_NAMES)}")
        return value


def _text_source(value: object) -> object:
    return {"oid": value} if isinstance(value, str) else value


class TextSource(_Frozen):
    """A scalar OID holding text (a serial number or model), optionally cut by a regex."""

    oid: OidField
    pattern: str | None = Field(default=None, description="Regex with (?P<value>...)")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return None if value is None else _regex(value, "value")

    def extract(self, text: str) -> str | None:
        """The part of ``text`` this source names (all of it without a pattern)."""
        if self.pattern is None:
            return text.strip() or None
        return _first_group([self.pattern], text, "value")


TextSourceField = Annotated[TextSource, BeforeValidator(_text_source)]


class VendorProfile(_Frozen):
    """One vendor: how to recognise it and where its non-standard objects are."""

    vendor: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    enterprise: OidField
    sys_descr: str | None = Field(
        default=None, description="Regex sysDescr must match too (shared enterprise numbers)"
    )
    kind: ProfileKind
    kind_rules: list[KindRule] = Field(default_factory=list)
    cpu: list[CpuSource] = Field(default_factory=list)
    memory: list[MemorySource] = Field(default_factory=list)
    serial: list[TextSourceField] = Field(default_factory=list)
    model: list[TextSourceField] = Field(default_factory=list)
    model_from_descr: list[str] = Field(
        default_factory=list, description="Regexes with (?P<model>...) applied to sysDescr"
    )
    serial_from_descr: list[str] = Field(
        default_factory=list, description="Regexes with (?P<serial>...) applied to sysDescr"
    )
    model_names: list[tuple[str, str]] = Field(
        default_factory=list,
        description="(regex, replacement) pairs turning product codes into names: FGT_ → FortiGate",
    )
    supply_levels: dict[int, VendorLevel] = Field(default_factory=dict)
    level_quirks: list[LevelQuirk] = Field(default_factory=list)

    @field_validator("sys_descr")
    @classmethod
    def _descr_regex(cls, value: str | None) -> str | None:
        return None if value is None else _regex(value)

    @field_validator("model_from_descr")
    @classmethod
    def _model_regexes(cls, value: list[str]) -> list[str]:
        return [_regex(pattern, "model") for pattern in value]

    @field_validator("serial_from_descr")
    @classmethod
    def _serial_regexes(cls, value: list[str]) -> list[str]:
        return [_regex(pattern, "serial") for pattern in value]

    @field_validator("model_names")
    @classmethod
    def _name_regexes(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(_regex(pattern), replacement) for pattern, replacement in value]

    def model_name(self, model: str) -> str:
        """``model`` with the vendor's product-code prefixes spelt out (``model_names``)."""
        for pattern, replacement in self.model_names:
            model = re.sub(pattern, replacement, model)
        return model.strip()

    def matches(self, sys_object_id: Oid | None, sys_descr: str) -> bool:
        """True if the enterprise prefix (and the sysDescr regex, if any) match."""
        prefix = self.enterprise
        if sys_object_id is None or sys_object_id[: len(prefix)] != prefix:
            return False
        return self.sys_descr is None or re.search(self.sys_descr, sys_descr) is not None

    def model_in(self, sys_descr: str) -> str | None:
        """The model named in sysDescr by the first matching ``model_from_descr``, or None."""
        return _first_group(self.model_from_descr, sys_descr, "model")

    def serial_in(self, sys_descr: str) -> str | None:
        """The serial named in sysDescr by the first matching ``serial_from_descr``, or None."""
        return _first_group(self.serial_from_descr, sys_descr, "serial")


def _first_group(patterns: list[str], text: str, group: str) -> str | None:
    for pattern in patterns:
        found = re.search(pattern, text)
        if found and (value := (found.group(group) or "").strip()):
            return value
    return None


class NetSnmpMemory(_Frozen):
    """hrStorage rows of net-snmp that describe RAM in its own, Linux-specific way."""

    physical: str
    subtract: list[str] = Field(default_factory=list)
    relative_to_physical: list[str] = Field(default_factory=list)


class ProfileDefaults(_Frozen):
    """Rules that apply to every device."""

    colour_words: dict[str, str] = Field(default_factory=dict)
    supply_description_cuts: list[str] = Field(default_factory=list)
    memory_storage_types: list[OidField] = Field(default_factory=list)
    memory_other_description: str = "(?i)memory"
    net_snmp_memory: NetSnmpMemory | None = None
    level_quirks: list[LevelQuirk] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Classification:
    """What a device is, as far as its system group tells."""

    vendor: VendorProfile | None
    kind: ProfileKind | None


class ProfileSet(_Frozen):
    """All profiles, and the lookup by sysObjectID."""

    defaults: ProfileDefaults = Field(default_factory=ProfileDefaults)
    vendors: list[VendorProfile] = Field(default_factory=list)

    def classify(self, sys_object_id: Oid | None, sys_descr: str) -> Classification:
        """The vendor whose enterprise prefix is the longest match, and the kind it implies.

        Among equally long prefixes a profile that also matched sysDescr wins: several vendors
        ship the enterprise number of their chip or OS (Broadcom 4413, net-snmp 8072).
        A profile of kind 'other' names the vendor but leaves the kind open (None).
        """
        best: VendorProfile | None = None
        for vendor in self.vendors:
            if not vendor.matches(sys_object_id, sys_descr):
                continue
            if best is None or (len(vendor.enterprise), vendor.sys_descr is not None) > (
                len(best.enterprise),
                best.sys_descr is not None,
            ):
                best = vendor
        if best is None:
            return Classification(None, None)
        for rule in best.kind_rules:
            if rule.matches(sys_object_id, sys_descr):
                return Classification(best, rule.kind)
        return Classification(best, None if best.kind == "other" else best.kind)


def load_profiles(path: Path = PROFILES_PATH) -> ProfileSet:
    """Read and validate a profiles file; :class:`SnmpConfigError` names the bad field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SnmpConfigError(str(path), f"cannot read: {exc}") from None
    try:
        return ProfileSet.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise SnmpConfigError(str(path), problems) from None
