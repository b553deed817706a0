"""First checks as data (``runbooks.yaml``): per problem class and per reported category, a short
list for commune staff and one for the technician, in Vietnamese and English.

A reported ticket shows its category's checks, any other ticket its class's. They are shown on
the ticket's page, given by the API, and written into every message of the ticket.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerts.categories import CATEGORY_ID
from alerts.errors import RulesError
from alerts.rules import ProblemClass, yaml_mapping

MAX_STEPS = 8


class Steps(BaseModel):
    """One list of checks, the same steps in both languages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vi: tuple[str, ...] = Field(min_length=1, max_length=MAX_STEPS)
    en: tuple[str, ...] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _same_steps(self) -> Steps:
        if len(self.vi) != len(self.en):
            raise ValueError(f"vi has {len(self.vi)} steps and en {len(self.en)}: give each both")
        if any(not step.strip() or len(step) > 300 for step in (*self.vi, *self.en)):
            raise ValueError("every step is 1-300 characters")
        return self

    def in_lang(self, lang: str) -> tuple[str, ...]:
        """The steps in ``lang`` (vi or en)."""
        return self.en if lang == "en" else self.vi


class Runbook(BaseModel):
    """What commune staff check first, and what the technician does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    staff: Steps
    technician: Steps


HEADINGS = {
    "staff": ("Cán bộ xã kiểm tra trước", "Commune staff, check first"),
    "technician": ("Kỹ thuật viên kiểm tra", "Technician, check"),
}


def runbook_lines(runbook: Runbook, lang: str) -> list[str]:
    """The runbook as numbered lines of a message in ``lang``."""
    index = 1 if lang == "en" else 0
    lines: list[str] = []
    for part in ("staff", "technician"):
        steps: Steps = getattr(runbook, part)
        lines.append(f"{HEADINGS[part][index]}:")
        lines.extend(f"  {n}. {step}" for n, step in enumerate(steps.in_lang(lang), start=1))
    return lines


@dataclass(frozen=True)
class Runbooks:
    """The runbooks of every class and category."""

    classes: dict[str, Runbook]
    categories: dict[str, Runbook]
    source: str = "runbooks.yaml"

    def for_ticket(self, problem_class: str, category: str | None) -> Runbook | None:
        """The checks of a ticket: its category's if it was reported, else its class's."""
        if category is not None and category in self.categories:
            return self.categories[category]
        return self.classes.get(problem_class)


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    classes: dict[ProblemClass, Runbook] = Field(default_factory=dict)
    categories: dict[str, Runbook] = Field(default_factory=dict)


def _error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(entry)"
    return f"field '{where}': {first['msg']}"


def parse_runbooks(text: str, source: str = "runbooks.yaml") -> Runbooks:
    """Validate a runbooks document; errors name the file, the class or category and the field."""
    data: Any = yaml_mapping(text, source, ["classes", "categories"], "section", "sections")
    try:
        document = _Document.model_validate(data)
    except ValidationError as exc:
        raise RulesError(f"{source}, {_error(exc)}") from None
    for name in document.categories:
        if re.match(CATEGORY_ID, name) is None:
            raise RulesError(f"{source}, field 'categories.{name}': not a category id")
    classes: dict[str, Runbook] = {str(name): book for name, book in document.classes.items()}
    return Runbooks(classes, dict(document.categories), source)


@functools.cache
def bundled_runbooks() -> Runbooks:
    """The bundled ``alerts/runbooks.yaml`` (read once: it is part of the program)."""
    text = resources.files("alerts").joinpath("runbooks.yaml").read_text(encoding="utf-8")
    return parse_runbooks(text)
