"""Report categories as data (alerts/categories.py, alerts/categories.yaml): each opens a routed
class, a wrong file is refused by name, and lookups go by id in the form's order."""

from __future__ import annotations

import pytest

from alerts.categories import bundled_categories, parse_categories
from alerts.errors import RulesError
from alerts.routing import load_routing
from alerts.rules import PROBLEM_CLASSES
from alerts.text import CLASS_TEXT


def test_each_category_opens_a_routed_class_and_joins_known_ones() -> None:
    routing = load_routing()
    for category in bundled_categories().items:
        assert category.problem_class in PROBLEM_CLASSES
        assert category.problem_class in CLASS_TEXT
        assert set(category.joins) <= set(PROBLEM_CLASSES)
        # Every report reaches an owner by a route, not the default team's "unrouted" flag.
        assert not routing.route(category.problem_class, "13318", None).unrouted, category.id
        assert category.name_vi != category.name_en
    assert [c.id for c in bundled_categories().items if c.needs_message] == ["software_error"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("categories: []", "field 'categories'"),
        (
            "categories:\n  - {id: a, name_vi: A, name_en: A, problem_class: fire}",
            "category 0 (a), field 'problem_class'",
        ),
        (
            "categories:\n"
            "  - {id: a, name_vi: A, name_en: A, problem_class: device_down}\n"
            "  - {id: a, name_vi: B, name_en: B, problem_class: device_down}",
            "category 1 (a), field 'id'",
        ),
        ("kinds: []", "unknown field(s) kinds"),
    ],
)
def test_a_wrong_categories_file_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_categories(text, "categories.yaml")
    assert named in str(caught.value)


def test_categories_keep_the_files_order_and_are_found_by_id() -> None:
    parsed = parse_categories(
        "categories:\n"
        "  - {id: no_paper, name_vi: Hết giấy, name_en: Out of paper, problem_class: device_down}\n"
        "  - id: slow\n"
        "    name_vi: Chậm\n"
        "    name_en: Slow\n"
        "    problem_class: site_outage\n"
        "    joins: [site_outage, device_down]\n"
        "    needs_message: true\n",
        "mine.yaml",
    )
    assert parsed.source == "mine.yaml"
    assert parsed.ids == ("no_paper", "slow")
    slow = parsed.get("slow")
    assert slow is not None
    assert slow.joins == ("site_outage", "device_down")
    assert slow.needs_message
    assert parsed.get("missing") is None
    paper = parsed.get("no_paper")
    assert paper is not None
    assert (paper.name("vi"), paper.name("en"), paper.name("fr")) == (
        "Hết giấy",
        "Out of paper",
        "Hết giấy",
    )
    assert not paper.needs_message
    assert paper.joins == ()


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ("{id: Bad, name_vi: A, name_en: A, problem_class: device_down}", "field 'id'"),
        ("{id: a, name_vi: '', name_en: A, problem_class: device_down}", "field 'name_vi'"),
        ("{id: a, name_vi: A, name_en: A, problem_class: device_down, x: 1}", "field 'x'"),
        ("{id: a, name_vi: A, name_en: A, problem_class: device_down, joins: [fire]}", "joins"),
        ("just-a-string", "category 0, field '(entry)'"),
    ],
)
def test_a_wrong_entry_names_its_field(entry: str, named: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_categories(f"categories:\n  - {entry}\n", "categories.yaml")
    assert named in str(caught.value)
    assert str(caught.value).startswith("categories.yaml category 0")


def test_the_bundled_categories_are_read_once() -> None:
    assert bundled_categories() is bundled_categories()
    assert bundled_categories().source == "categories.yaml"
