"""Device profiles as data: sysObjectID → vendor and kind, vendor CPU/memory/serial OIDs.

The data lives in ``profiles.yaml`` beside this module; this module only loads it into typed,
validated models and answers "which profile does this device match".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from agent.snmp.errors import SnmpConfigError
from agent.snmp.values import Oid, parse_oid

PROFILES_PATH = Path(__file__).with_name("profiles.yaml")

ProfileKind = Literal["printer", "mfp", "router", "switch", "firewall", "access_point", "other"]
SupplyStateName = Literal["ok", "low", "empty", "other", "unknown", "some_remaining"]


def _oid(value: object) -> object:
    if isinstance(value, str):
        return parse_oid(value)
    return value


OidField = Annotated[Oid, BeforeValidator(_oid)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CpuSource(_Frozen):
    """Where a vendor reports CPU load in percent: a column (one CPU per row) or a scalar."""

    oid: OidField
    scalar: bool = False
    label: str | None = Field(default=None, description="The 'cpu' label of a scalar source")
    name: OidField | None = Field(default=None, description="Column of row names")
    only_where_nonzero: OidField | None = None
    scale: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _label_for_scalar(self) -> CpuSource:
        if self.scalar and not self.label:
            raise ValueError("a scalar cpu source needs a 'label'")
        return self


class MemorySource(_Frozen):
    """Where a vendor reports memory: a used percent, or used bytes with free or total bytes."""

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
        if (self.percent is None) == (self.used is None):
            raise ValueError("give either 'percent' or 'used' (with 'free' or 'total')")
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
            try:
                re.compile(self.sys_descr)
            except re.error as exc:
                raise ValueError(f"sys_descr {self.sys_descr!r} is not a regex: {exc}") from None
        return self

    def matches(self, sys_object_id: Oid | None, sys_descr: str) -> bool:
        """True if every condition of the rule holds."""
        if self.sys_object_id is not None and (
            sys_object_id is None or sys_object_id[: len(self.sys_object_id)] != self.sys_object_id
        ):
            return False
        return self.sys_descr is None or re.search(self.sys_descr, sys_descr) is not None


class VendorProfile(_Frozen):
    """One vendor: how to recognise it and where its non-standard objects are."""

    vendor: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    enterprise: OidField
    kind: ProfileKind
    kind_rules: list[KindRule] = Field(default_factory=list)
    cpu: list[CpuSource] = Field(default_factory=list)
    memory: list[MemorySource] = Field(default_factory=list)
    serial: list[OidField] = Field(default_factory=list)
    model: list[OidField] = Field(default_factory=list)
    supply_levels: dict[int, SupplyStateName] = Field(default_factory=dict)


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
        """The vendor whose enterprise prefix is the longest match, and the kind it implies."""
        best: VendorProfile | None = None
        if sys_object_id is not None:
            for vendor in self.vendors:
                prefix = vendor.enterprise
                if sys_object_id[: len(prefix)] == prefix and (
                    best is None or len(prefix) > len(best.enterprise)
                ):
                    best = vendor
        if best is None:
            return Classification(None, None)
        for rule in best.kind_rules:
            if rule.matches(sys_object_id, sys_descr):
                return Classification(best, rule.kind)
        return Classification(best, best.kind)


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
