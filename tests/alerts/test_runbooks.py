"""Report categories and first checks as data (alerts/categories.yaml, alerts/runbooks.yaml):
complete, in both languages, and refused by name when a file is wrong."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select

from alerts import tickets
from alerts.categories import bundled_categories, parse_categories
from alerts.errors import RulesError
from alerts.routing import load_routing
from alerts.rules import PROBLEM_CLASSES
from alerts.runbooks import bundled_runbooks, parse_runbooks, runbook_lines
from alerts.schema import outbox
from alerts.text import CLASS_TEXT
from tests.alerts.support import World, pc


def test_every_class_and_category_has_first_checks_in_both_languages() -> None:
    runbooks = bundled_runbooks()
    categories = bundled_categories()
    # A new problem class or category needs its runbook: this names the one missing.
    assert set(PROBLEM_CLASSES) - set(runbooks.classes) == set()
    assert set(categories.ids) - set(runbooks.categories) == set()
    assert set(runbooks.categories) <= set(categories.ids)
    for book in (*runbooks.classes.values(), *runbooks.categories.values()):
        for steps in (book.staff, book.technician):
            assert len(steps.vi) == len(steps.en) >= 1
    lines = runbook_lines(runbooks.categories["cannot_sign"], "vi")
    assert lines[0] == "Cán bộ xã kiểm tra trước:"
    assert lines[1].startswith("  1. ")
    assert "Technician, check:" in runbook_lines(runbooks.classes["site_outage"], "en")


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


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            "classes:\n  fire: {staff: {vi: [a], en: [a]}, technician: {vi: [a], en: [a]}}",
            "field 'classes.fire",
        ),
        (
            "classes:\n  device_down: {staff: {vi: [a, b], en: [a]}, "
            "technician: {vi: [a], en: [a]}}",
            "field 'classes.device_down.staff'",
        ),
        (
            "categories:\n  Bad-Id: {staff: {vi: [a], en: [a]}, technician: {vi: [a], en: [a]}}",
            "field 'categories.Bad-Id'",
        ),
        ("steps: {}", "unknown section(s) steps"),
    ],
)
def test_a_wrong_runbooks_file_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_runbooks(text, "runbooks.yaml")
    assert named in str(caught.value)


def test_a_found_ticket_carries_its_class_checks_on_the_ticket_and_in_its_messages(
    engine: Engine,
) -> None:
    # Not only reports: a ticket the detectors open shows its class's checks too.
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (found,) = world.tickets()
    book = bundled_runbooks().classes[found.problem_class]
    ticket = tickets.get_ticket(engine, found.id)
    assert ticket["category"] is None
    assert ticket["runbook"]["technician"]["en"] == list(book.technician.en)
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.channel, outbox.c.body)).all()
    assert rows
    for channel, body in rows:
        if channel == "webhook":
            runbook = json.loads(body)["ticket"]["runbook"]
            assert runbook["staff"]["vi"] == list(book.staff.vi)
        else:
            assert "Cán bộ xã kiểm tra trước:" in body
            assert f"  1. {book.staff.vi[0]}" in body
            assert f"  1. {book.technician.en[0]}" in body
