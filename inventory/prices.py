"""Unit replacement prices per asset kind (and per class where it differs), from versioned YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from inventory._yaml import load_model
from inventory.models import Asset, AssetKind

DEFAULT_PRICES_PATH = Path(__file__).with_name("prices.yaml")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceEntry(_Frozen):
    """The price of one replacement item and where it comes from."""

    price_vnd: int = Field(ge=1, strict=True)
    item_vi: str = Field(min_length=1)
    item_en: str = Field(min_length=1)
    verified: bool
    source: str = Field(min_length=1)


class PriceTable(_Frozen):
    """Replacement prices: one per kind, optionally one per asset class."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(alias="schema")
    version: str = Field(min_length=1)
    currency: Literal["VND"] = "VND"
    source: str = Field(min_length=1)
    kinds: dict[AssetKind, PriceEntry]
    classes: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")], PriceEntry
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_kind(self) -> Self:
        missing = sorted(kind.value for kind in AssetKind if kind not in self.kinds)
        if missing:
            raise ValueError(f"kinds: no price for {missing}")
        return self

    def price_for(self, asset: Asset, class_id: str | None = None) -> PriceEntry:
        """The replacement price of ``asset``: its class's if listed, else its kind's."""
        key = class_id or asset.asset_class
        if key is not None and key in self.classes:
            return self.classes[key]
        return self.kinds[asset.kind]


def load_price_table(path: Path | None = None) -> PriceTable:
    """Load a price table (default: the packaged ``prices.yaml``)."""
    return load_model(path or DEFAULT_PRICES_PATH, PriceTable)
