"""What people report, as data (``categories.yaml``): each category's words, the problem class its
ticket gets (and so its owner, by the routing) and the classes of open tickets it joins."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerts.errors import RulesError
from alerts.rules import ProblemClass, yaml_mapping

CATEGORY_ID = r"^[a-z][a-z0-9_]{0,39}$"


class Category(BaseModel):
    """One kind of problem a person reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=CATEGORY_ID)
    name_vi: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    hint_vi: str = Field(default="", max_length=300)
    hint_en: str = Field(default="", max_length=300)
    problem_class: ProblemClass
    # Classes of open tickets (found by the detectors) that a report of this category joins.
    joins: tuple[ProblemClass, ...] = ()
    # The software's own error message is asked for, and required.
    needs_message: bool = False

    def name(self, lang: str) -> str:
        """The category in ``lang`` (vi or en)."""
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class Categories:
    """The categories of one province, in the order the form lists them."""

    items: tuple[Category, ...]
    source: str = "categories.yaml"

    @property
    def ids(self) -> tuple[str, ...]:
        """Every category id, in order."""
        return tuple(item.id for item in self.items)

    def get(self, category_id: str) -> Category | None:
        """The category ``category_id``, or None."""
        return next((item for item in self.items if item.id == category_id), None)


def _error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(entry)"
    return f"field '{where}': {first['msg']} (got {first.get('input')!r})"


def parse_categories(text: str, source: str = "categories.yaml") -> Categories:
    """Validate a categories document; errors name the file, the entry and the field."""
    data = yaml_mapping(text, source, ["categories"], "field", "'categories'")
    raw: Any = data.get("categories")
    if not isinstance(raw, list) or not raw:
        raise RulesError(f"{source}, field 'categories': expected a non-empty list")
    items: list[Category] = []
    for number, entry in enumerate(raw):
        label = entry.get("id") if isinstance(entry, dict) else None
        where = f"{source} category {number}{f' ({label})' if label else ''}"
        try:
            item = Category.model_validate(entry)
        except ValidationError as exc:
            raise RulesError(f"{where}, {_error(exc)}") from None
        if any(other.id == item.id for other in items):
            raise RulesError(f"{where}, field 'id': {item.id!r} is used by an earlier category")
        items.append(item)
    return Categories(tuple(items), source)


@functools.cache
def bundled_categories() -> Categories:
    """The bundled ``alerts/categories.yaml`` (read once: it is part of the program)."""
    text = resources.files("alerts").joinpath("categories.yaml").read_text(encoding="utf-8")
    return parse_categories(text)
