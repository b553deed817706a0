"""Rendering the console's templates (web/render.py): helpers, escaping, strict names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import DictLoader, Environment, UndefinedError

from web.render import environment, render

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _env(template: str) -> Environment:
    env = environment()
    env.loader = DictLoader({"t.html": template})
    return env


def test_sla_countdown_labels_and_shares_in_both_languages() -> None:
    template = (
        "{{ until(soon) }}|{{ until(late) }}|{{ until(none) }}|{{ kind('pc') }}|"
        "{{ kind('sensor') }}|{{ pct(0.5) }}|{{ pct(none) }}|{{ money(1500000) }}"
    )
    context = {"soon": NOW + timedelta(hours=2, minutes=5), "late": NOW - timedelta(minutes=10)}
    vi = render(_env(template), "t.html", "vi", NOW, none=None, **context)
    assert vi == "còn 2 giờ 5 phút|quá hạn 10 phút|-|Máy tính|sensor|50,0 %|-|1.500.000"
    en = render(_env(template), "t.html", "en", NOW, none=None, **context)
    assert en == "2 h 5 min left|10 min overdue|-|PC|sensor|50.0 %|-|1,500,000"


def test_html_is_escaped_and_unknown_names_are_errors() -> None:
    assert render(_env("{{ x }}"), "t.html", "vi", NOW, x="<b>") == "&lt;b&gt;"
    with pytest.raises(UndefinedError):
        render(_env("{{ missing }}"), "t.html", "vi", NOW)


def test_the_error_page_renders_in_the_chosen_language() -> None:
    page = render(
        environment(), "error.html", "en", NOW, session=None, path="/web/x", query="", message="m"
    )
    assert '<html lang="en"' in page
    assert '<p class="alert" role="alert">m</p>' in page
