"""First checks as data (alerts/runbooks.yaml): one for every class and report category,
complete, in both languages, and refused by name when the file is wrong (the categories
themselves are tests/alerts/test_categories.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select

from alerts import tickets
from alerts.categories import bundled_categories
from alerts.errors import RulesError
from alerts.rules import PROBLEM_CLASSES
from alerts.runbooks import bundled_runbooks, parse_runbooks, runbook_lines
from alerts.schema import outbox
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
