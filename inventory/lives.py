"""Lives and wear rates per rule set and asset class, loaded from versioned YAML data.

``lives.yaml`` beside this module holds one table per circular (23/2023/TT-BTC for fiscal years up
to 2025, 141/2025/TT-BTC from 2026) and the default class of each asset kind. A province may
override a class's rate within ±20 % (141/2025 Art. 13.1a); ``apply_province_overrides`` checks it.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from inventory._yaml import load_model
from inventory.errors import ConfigError, OverrideOutOfRange, WearError
from inventory.models import Asset, AssetKind

DEFAULT_LIVES_PATH = Path(__file__).with_name("lives.yaml")
# 141/2025 Art. 13.1a: a province's rate may differ from Phụ lục I by at most 20 % either way.
MAX_OVERRIDE_CHANGE_PERCENT = Decimal(20)

ClassId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
RuleSetId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def life_for_rate(rate_percent: Decimal) -> int:
    """Years until fully worn at ``rate_percent`` a year, the last year taking the remainder."""
    return int((Decimal(100) / rate_percent).to_integral_value(rounding=ROUND_CEILING))


class ClassInfo(_Frozen):
    """Names of an asset class, Vietnamese first."""

    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


class ClassRate(_Frozen):
    """Life and rate of one class under one rule set, with where the numbers come from."""

    # The rate comes first so that the life's check below can read it.
    rate_percent: Decimal = Field(gt=0, le=100)
    life_years: int = Field(ge=1, le=100)
    verified: bool
    source: str = Field(min_length=1)
    # Set when a province decision replaced the circular's rate.
    base_rate_percent: Decimal | None = None
    override_decision: str | None = None

    @field_validator("life_years")
    @classmethod
    def _life_matches_rate(cls, life: int, info: ValidationInfo) -> int:
        # Straight line with the remainder in the last year ends after ceil(100 / rate) years;
        # a table whose life disagrees would make "past its life" and "fully worn" drift apart.
        rate = info.data.get("rate_percent")
        if rate is not None and life != life_for_rate(rate):
            raise ValueError(
                f"life_years {life} does not match rate_percent {rate} "
                f"(a rate of {rate} % wears the cost out in {life_for_rate(rate)} years)"
            )
        return life


class RuleSet(_Frozen):
    """The lives and rates of one circular and the fiscal years it applies to."""

    id: RuleSetId
    circular: str = Field(min_length=1)
    title_vi: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    first_fiscal_year: int | None = Field(ge=1990, le=2200)
    last_fiscal_year: int | None = Field(ge=1990, le=2200)
    transition_from_previous: Literal["none", "art_18_1"]
    source: str = Field(min_length=1)
    rates: dict[ClassId, ClassRate]

    def covers(self, year: int) -> bool:
        """True when fiscal ``year`` is computed under this rule set."""
        after_start = self.first_fiscal_year is None or year >= self.first_fiscal_year
        before_end = self.last_fiscal_year is None or year <= self.last_fiscal_year
        return after_start and before_end


class ProvinceOverride(_Frozen):
    """A province's own rate for one class under one rule set (141/2025 Art. 13.1a)."""

    rule_set: RuleSetId
    asset_class: ClassId
    rate_percent: Decimal = Field(gt=0, le=100)
    life_years: int | None = Field(default=None, ge=1, le=100)
    decision: str = Field(min_length=1, description="The province's decision that sets the rate")
    note: str = ""


class ProvinceOverrides(_Frozen):
    """A province's overrides file."""

    schema_version: Literal[1] = Field(alias="schema")
    province: str = Field(min_length=1)
    overrides: tuple[ProvinceOverride, ...] = ()


class LifeTables(_Frozen):
    """Every rule set, the class names and the default class per kind."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(alias="schema")
    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    classes: dict[ClassId, ClassInfo]
    rule_sets: tuple[RuleSet, ...] = Field(min_length=1)
    kind_to_class: dict[AssetKind, ClassId]
    province: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for index, rule_set in enumerate(self.rule_sets):
            missing = sorted(set(self.classes) - set(rule_set.rates))
            unknown = sorted(set(rule_set.rates) - set(self.classes))
            if missing or unknown:
                raise ValueError(
                    f"rule_sets[{index}] ({rule_set.id}): every class needs a rate; "
                    f"missing {missing}, not in 'classes' {unknown}"
                )
            if index == 0:
                continue
            previous = self.rule_sets[index - 1]
            if previous.last_fiscal_year is None or rule_set.first_fiscal_year is None:
                raise ValueError(
                    f"rule_sets[{index}] ({rule_set.id}): only the first rule set may be open at "
                    "the start and only the last open at the end"
                )
            if rule_set.first_fiscal_year != previous.last_fiscal_year + 1:
                raise ValueError(
                    f"rule_sets[{index}] ({rule_set.id}) must start in "
                    f"{previous.last_fiscal_year + 1}, the year after {previous.id} ends"
                )
        if self.rule_sets[0].transition_from_previous != "none":
            raise ValueError(f"rule_sets[0] ({self.rule_sets[0].id}) has no previous rule set")
        missing_kinds = sorted(kind.value for kind in AssetKind if kind not in self.kind_to_class)
        if missing_kinds:
            raise ValueError(f"kind_to_class has no class for kinds {missing_kinds}")
        for kind, class_id in self.kind_to_class.items():
            if class_id not in self.classes:
                raise ValueError(f"kind_to_class.{kind.value}: unknown class {class_id!r}")
        return self

    def rule_set_for(self, year: int) -> RuleSet:
        """The rule set fiscal ``year`` is computed under."""
        for rule_set in self.rule_sets:
            if rule_set.covers(year):
                return rule_set
        raise WearError(f"no rule set in the lives table covers fiscal year {year}")

    def previous_rule_set(self, rule_set: RuleSet) -> RuleSet | None:
        """The rule set in force before ``rule_set``, if any."""
        index = self.rule_sets.index(rule_set)
        return self.rule_sets[index - 1] if index > 0 else None

    def class_of(self, asset: Asset) -> str:
        """The asset's class: its own ``asset_class`` or its kind's default."""
        class_id = asset.asset_class or self.kind_to_class[asset.kind]
        if class_id not in self.classes:
            raise WearError(
                f"asset {asset.asset_tag!r}: class {class_id!r} is not in the lives table "
                f"(known: {', '.join(sorted(self.classes))})"
            )
        return class_id

    def rate(self, year: int, class_id: str) -> ClassRate:
        """Life and rate of ``class_id`` in fiscal ``year``."""
        return self.rule_set_for(year).rates[class_id]


def load_life_tables(path: Path | None = None) -> LifeTables:
    """Load and check a lives file (default: the packaged ``lives.yaml``)."""
    return load_model(path or DEFAULT_LIVES_PATH, LifeTables)


def load_province_overrides(path: Path) -> ProvinceOverrides:
    """Load a province's overrides file (checked against the tables by apply_province_overrides)."""
    return load_model(path, ProvinceOverrides)


def apply_province_overrides(
    tables: LifeTables, overrides: ProvinceOverrides, *, file: str = "overrides"
) -> LifeTables:
    """``tables`` with the province's rates; a rate beyond ±20 % raises OverrideOutOfRange."""
    rule_sets = {rule_set.id: rule_set for rule_set in tables.rule_sets}
    new_rates: dict[str, dict[str, ClassRate]] = {
        rule_set.id: dict(rule_set.rates) for rule_set in tables.rule_sets
    }
    for index, override in enumerate(overrides.overrides):
        key = f"overrides[{index}]"
        if override.rule_set not in rule_sets:
            raise ConfigError(
                f"unknown rule set {override.rule_set!r} (known: {', '.join(sorted(rule_sets))})",
                file=file,
                key=key,
                field="rule_set",
            )
        base = rule_sets[override.rule_set].rates.get(override.asset_class)
        if base is None:
            raise ConfigError(
                f"unknown class {override.asset_class!r} "
                f"(known: {', '.join(sorted(tables.classes))})",
                file=file,
                key=key,
                field="asset_class",
            )
        base_rate = base.base_rate_percent or base.rate_percent
        limit = base_rate * MAX_OVERRIDE_CHANGE_PERCENT / 100
        if abs(override.rate_percent - base_rate) > limit:
            raise OverrideOutOfRange(
                file=file,
                key=key,
                base_rate=base_rate,
                override_rate=override.rate_percent,
                max_change_percent=MAX_OVERRIDE_CHANGE_PERCENT,
            )
        life = life_for_rate(override.rate_percent)
        if override.life_years is not None and override.life_years != life:
            raise ConfigError(
                f"life_years {override.life_years} does not match rate_percent "
                f"{override.rate_percent} (that rate wears the cost out in {life} years)",
                file=file,
                key=key,
                field="life_years",
            )
        new_rates[override.rule_set][override.asset_class] = ClassRate(
            life_years=life,
            rate_percent=override.rate_percent,
            verified=base.verified,
            source=f"{overrides.province}: {override.decision}",
            base_rate_percent=base_rate,
            override_decision=override.decision,
        )
    return tables.model_copy(
        update={
            "rule_sets": tuple(
                rule_set.model_copy(update={"rates": new_rates[rule_set.id]})
                for rule_set in tables.rule_sets
            ),
            "province": overrides.province,
        }
    )
