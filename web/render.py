"""Jinja2 templates of the console with the language, time and number filters they use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from web.i18n import (
    MESSAGES,
    Lang,
    duration_text,
    local_date,
    local_time,
    percent_text,
    problem_class_text,
    translator,
    vnd,
)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def environment() -> Environment:
    """The template environment: autoescaped HTML, undefined names are errors (not blanks)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    env.filters["local_date"] = local_date
    return env


def render(env: Environment, name: str, lang: Lang, now: datetime, **context: Any) -> str:
    """One page in ``lang``; templates get ``t``, ``lang``, ``now`` and the helpers below."""

    def pclass(problem_class: str) -> str:
        return problem_class_text(problem_class, lang)

    def until(deadline: datetime | None) -> str:
        """An SLA countdown: 'còn 2 giờ 5 phút' or 'quá hạn 10 phút'."""
        if deadline is None:
            return "-"
        seconds = (deadline - now).total_seconds()
        key = "sla_left" if seconds >= 0 else "sla_over"
        return t(key, time=duration_text(seconds, lang))

    def money(amount: float | None) -> str:
        return vnd(amount, lang)

    def label(prefix: str, value: object) -> str:
        """A stored code in words (``kind_pc`` → 'Máy tính'); an unknown code shows as stored."""
        raw = str(getattr(value, "value", value))
        key = f"{prefix}_{raw}"
        return t(key) if key in MESSAGES else raw

    def kind(value: object) -> str:
        """A device or asset kind in words."""
        return label("kind", value)

    def pct(share: float | None) -> str:
        """A share 0..1 as '99,5 %' (Vietnamese decimal comma) or '99.5 %'; '-' for none."""
        return "-" if share is None else percent_text(share, lang)

    t = translator(lang)
    return env.get_template(name).render(
        t=t,
        lang=lang,
        now=now,
        pclass=pclass,
        until=until,
        money=money,
        kind=kind,
        label=label,
        pct=pct,
        **context,
    )
