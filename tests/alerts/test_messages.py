"""The messages of a ticket's change (alerts/messages.py): one outbox row per channel of its
owners, due at once, after a delay or at the end of a digest window, in both languages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, select, update

from alerts.messages import queue, text_body, webhook_payload
from alerts.notify import digest_due
from alerts.routing import parse_routing
from alerts.runbooks import bundled_runbooks
from alerts.schema import outbox, tickets
from tests.alerts.support import PLANTED, World, pc

ROUTING = """
default_owner: it
owners:
  it:
    kind: team
    name_vi: Tổ CNTT xã
    digest_minutes: 60
    channels:
      - {type: email, to: kythuat@xa.example.gov.vn}
      - {type: webhook, to: "http://127.0.0.1:9/hook"}
    sla: {respond: 1h, resolve: 1d}
  boss:
    kind: team
    name_vi: Sở KH&CN
    channels:
      - {type: email, to: kythuat@xa.example.gov.vn}
      - {type: email, to: giamdoc@so.example.gov.vn}
    sla: {respond: 1h, resolve: 1d}
"""
AT = datetime(2026, 3, 2, 1, 10, tzinfo=UTC)


def _ticket(**values: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {
        "id": 5,
        "problem_class": "device_health",
        "commune_code": "14134",
        "device_id": "PC-1",
        "system": None,
        "owner": "it",
        "state": "open",
        "reopen_count": 0,
        "title_vi": "Đĩa đầy",
        "title_en": "Disk full",
        "body_vi": "Nội dung",
        "body_en": "Body",
    }
    fields.update(values)
    return SimpleNamespace(**fields)


def test_a_message_subject_and_note_are_one_line(engine: Engine) -> None:
    from alerts.messages import queue

    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (opened,) = world.tickets()
    with engine.begin() as conn:
        # A title as an agent's label could make it, were the text not rendered on one line.
        conn.execute(
            update(tickets).where(tickets.c.id == opened.id).values(title_vi="Sự cố\nURGENT")
        )
        ticket = conn.execute(select(tickets).where(tickets.c.id == opened.id)).one()
        assert queue(
            conn, world.alerts.routing, ticket, 10_000, "opened", PLANTED, ticket.opened_at
        )
        rows = conn.execute(select(outbox).where(outbox.c.history_id == 10_000)).all()
    assert rows
    for row in rows:
        assert "\n" not in str(row.subject)
        assert "\nURGENT: the account" not in str(row.body)


def _opened(engine: Engine) -> Any:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (opened,) = world.tickets()
    with engine.connect() as conn:
        row = conn.execute(select(tickets).where(tickets.c.id == opened.id)).one()
    return SimpleNamespace(**row._mapping)


def _rows(engine: Engine, history_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(outbox).where(outbox.c.history_id == history_id).order_by(outbox.c.id)
            ).all()
        )


def test_each_channel_of_the_owner_gets_one_row_held_for_its_digest(engine: Engine) -> None:
    routing = parse_routing(ROUTING)
    ticket = _opened(engine)
    ticket.owner = "it"
    with engine.begin() as conn:
        assert queue(conn, routing, ticket, 20_001, "opened", "note", AT) == 2
        assert queue(conn, routing, ticket, 20_002, "breached", "late", AT, urgent=True) == 2
    digest, urgent = _rows(engine, 20_001), _rows(engine, 20_002)
    assert [(r.channel, r.owner, r.channel_id) for r in digest] == [
        ("email", "it", "email"),
        ("webhook", "it", "webhook"),
    ]
    assert {r.next_attempt_at for r in digest} == {digest_due(AT, 60)}
    assert digest_due(AT, 60) > AT
    assert {r.next_attempt_at for r in urgent} == {AT}
    assert all(r.urgent for r in urgent)
    assert not any(r.urgent for r in digest)
    assert all(r.target == "" and r.attempts == 0 for r in digest)  # never the address
    email, webhook = digest
    assert email.subject == f"[opened] #{ticket.id} {ticket.title_vi}"
    assert email.body.endswith("(opened: note)")
    payload = json.loads(webhook.body)
    assert (payload["event"], payload["note"], payload["ticket"]["id"]) == (
        "opened",
        "note",
        ticket.id,
    )
    book = bundled_runbooks().classes[ticket.problem_class]
    assert payload["ticket"]["runbook"]["technician"]["vi"] == list(book.technician.vi)


def test_an_escalation_sharing_a_channel_sends_one_message_there(engine: Engine) -> None:
    routing = parse_routing(ROUTING)
    ticket = _opened(engine)
    ticket.owner = "it"
    delay = timedelta(minutes=15)
    with engine.begin() as conn:
        count = queue(
            conn, routing, ticket, 20_003, "escalated", "", AT, extra_owner="boss", delay=delay
        )
        # An owner the routing no longer has is told nothing.
        ticket.owner = "gone"
        assert queue(conn, routing, ticket, 20_004, "opened", "", AT) == 0
    rows = _rows(engine, 20_003)
    assert count == len(rows) == 3
    assert [(r.owner, r.channel_id) for r in rows] == [
        ("it", "email"),
        ("it", "webhook"),
        ("boss", "email-2"),
    ]
    # The owner without a digest waits only for the delay; the digest owner for its window.
    assert rows[2].next_attempt_at == AT + delay
    assert rows[0].next_attempt_at == digest_due(AT + delay, 60)


def test_a_text_body_is_vietnamese_then_english_with_the_change() -> None:
    ticket = _ticket()
    assert text_body(ticket, "opened", "n", None) == "Nội dung\n\n---\n\nBody\n\n(opened: n)"
    book = bundled_runbooks().classes["device_health"]
    body = text_body(ticket, "opened", "n", book)
    vi, en = body.split("\n\n---\n\n")
    assert vi.startswith("Nội dung\n\n")
    assert f"  1. {book.staff.vi[0]}" in vi
    assert en.startswith("Body\n\n")
    assert f"  1. {book.technician.en[0]}" in en


def test_a_webhook_payload_carries_the_ticket_and_no_runbook_when_none() -> None:
    ticket = _ticket(reopen_count=2, system="motcua")
    payload = webhook_payload(ticket, "reopened", "again", AT)
    assert payload["event"] == "reopened"
    assert payload["at"] == "2026-03-02T01:10:00+00:00"
    assert payload["ticket"]["reopen_count"] == 2
    assert payload["ticket"]["system"] == "motcua"
    assert payload["ticket"]["runbook"] is None
    assert set(payload["ticket"]) >= {"title_vi", "title_en", "body_vi", "body_en", "owner"}
    json.dumps(payload)  # all of it is JSON


def test_a_long_note_is_cut_to_one_bounded_line(engine: Engine) -> None:
    routing = parse_routing(ROUTING)
    ticket = _opened(engine)
    ticket.owner = "boss"
    with engine.begin() as conn:
        queue(conn, routing, ticket, 20_005, "comment", "a\nb" + "x" * 5000, AT)
    rows = _rows(engine, 20_005)
    assert len(rows) == 2
    note = rows[0].body.rsplit("(comment: ", 1)[1]
    assert note.startswith("a b")
    assert len(note) == 2001  # 2000 characters, the last an ellipsis, and the parenthesis
    assert note.endswith("…)")
    assert "\n" not in note
