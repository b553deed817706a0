"""Signed, single-use answer links (alerts/action_links.py): the links in real messages (SMTP,
webhook, apprise) used on both stores (tokens and key: tests/alerts/test_link_tokens.py)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, select

from alerts import tickets
from alerts.action_links import use_link
from alerts.errors import TicketTransition
from alerts.link_tokens import ActionLinks, LinkRefused
from alerts.notify import (
    AppriseNotifier,
    Dispatcher,
    Notifier,
    SmtpNotifier,
    WebhookNotifier,
)
from alerts.routing import parse_routing
from alerts.schema import used_links
from collector.schema import audit_log
from tests.alerts.receivers import SmtpServer, WebhookServer
from tests.alerts.support import World, pc
from tests.services import free_port

KEY = b"k" * 32
PUBLIC = "https://giamsat.example.gov.vn"
LINK = re.compile(r"https://giamsat\.example\.gov\.vn/web/a/(\S+)")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hook() -> Iterator[WebhookServer]:
    server = WebhookServer(free_port())
    server.start()
    yield server
    server.stop()


def _routing(smtp: SmtpServer, hook: WebhookServer) -> str:
    return f"""
default_owner: it
owners:
  it:
    kind: team
    name_vi: Tổ CNTT xã
    channels:
      - {{type: email, to: kythuat@xa.example.gov.vn}}
      - {{type: webhook, to: "{hook.url}"}}
      - {{type: apprise, to: "json://127.0.0.1:{hook.port}/apprise"}}
    sla: {{respond: 1h, resolve: 1d}}
  isp:
    kind: vendor
    name_vi: Nhà mạng
    channels: [{{type: email, to: noc@isp.example.vn}}]
    sla: {{respond: 1h, resolve: 1d}}
"""


def test_messages_carry_links_that_act_once(
    engine: Engine, smtp: SmtpServer, hook: WebhookServer
) -> None:
    routing = parse_routing(_routing(smtp, hook))
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (ticket,) = world.tickets()
    links = ActionLinks(KEY, PUBLIC)
    with httpx.Client(timeout=5.0) as client:
        notifiers: dict[str, Notifier] = {
            "email": SmtpNotifier("127.0.0.1", smtp.port, "cm@example.vn"),
            "webhook": WebhookNotifier(client),
            "apprise": AppriseNotifier(),
        }
        dispatcher = Dispatcher(engine, world.clock, notifiers, routing=routing, links=links)
        assert dispatcher.deliver_due().sent == 3
    (mail,) = smtp.messages
    found = LINK.findall(mail.get_content())
    assert len(found) == 2
    ack, resolve = (links.read(token) for token in found)
    assert (ack.action, resolve.action) == ("ack", "resolve")
    assert ack.recipient == "it/email"
    webhook = next(body for body in hook.received if "ticket" in body)
    assert set(webhook["actions"]) == {"ack", "resolve"}
    assert links.read(webhook["actions"]["ack"].rsplit("/", 1)[1]).recipient == "it/webhook"
    # apprise (Telegram's path): the message text carries them as the e-mail does.
    text = next(body["message"] for body in hook.received if "message" in body)
    assert links.read(LINK.findall(text)[0]).recipient == "it/apprise"

    desk, now = world.alerts.desk, world.clock.now()
    token = found[0]
    # Opening the link changes nothing; using it acknowledges once.
    assert links.check(engine, token, now).ticket_id == ticket.id
    assert tickets.get_ticket(engine, ticket.id)["state"] == "open"
    use_link(links, engine, desk, token, "", now)
    assert tickets.get_ticket(engine, ticket.id)["state"] == "acknowledged"
    with pytest.raises(LinkRefused) as caught:
        use_link(links, engine, desk, token, "", now)
    assert caught.value.reason == "used"
    # The resolve link of the same message, with a note.
    use_link(links, engine, desk, found[1], "Đã dọn ổ đĩa", now)
    shown = tickets.get_ticket(engine, ticket.id)
    assert shown["state"] == "resolved"
    assert shown["history"][-1]["note"] == "Đã dọn ổ đĩa"
    assert shown["history"][-1]["actor"] == "link:it/email"
    with engine.connect() as conn:
        audited = conn.execute(
            select(audit_log.c.action, audit_log.c.actor, audit_log.c.detail).where(
                audit_log.c.target == f"ticket:{ticket.id}"
            )
        ).all()
    assert [(a.action, a.actor) for a in audited] == [
        ("ticket_ack", "link:it/email"),
        ("ticket_resolve", "link:it/email"),
    ]
    assert ack.link_id in audited[0].detail


def test_expired_moved_and_refused_links_change_nothing(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (ticket,) = world.tickets()
    links = ActionLinks(KEY, PUBLIC)
    desk, now = world.alerts.desk, world.clock.now()
    recipient = f"{ticket.owner}/email"
    expired = links.sign(ticket.id, "ack", recipient, now - timedelta(hours=72))
    moved = links.sign(ticket.id, "ack", "isp/email", now)  # isp does not own this ticket
    ack = links.sign(ticket.id, "ack", recipient, now)
    for token, reason in ((expired, "expired"), (moved, "moved"), ("x.y", "altered")):
        with pytest.raises(LinkRefused) as caught:
            use_link(links, engine, desk, token, "", now)
        assert caught.value.reason == reason
    assert tickets.get_ticket(engine, ticket.id)["state"] == "open"
    # Acknowledged from the console first: the link's change is refused, and not spent.
    tickets.acknowledge(engine, desk, ticket.id, "admin", now, scope=None)
    with pytest.raises(TicketTransition):
        use_link(links, engine, desk, ack, "", now)
    with engine.connect() as conn:
        assert conn.execute(select(used_links)).all() == []


def test_one_link_used_twice_at_once_acts_once(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (ticket,) = world.tickets()
    links = ActionLinks(KEY, PUBLIC)
    desk, now = world.alerts.desk, world.clock.now()
    token = links.sign(ticket.id, "resolve", f"{ticket.owner}/email", now)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def use() -> None:
        barrier.wait()
        try:
            use_link(links, engine, desk, token, "xong", now)
            outcomes.append("done")
        except LinkRefused as exc:
            outcomes.append(exc.reason)
        except TicketTransition:
            outcomes.append("already")

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes).count("done") == 1
    assert len(outcomes) == 4
    history = tickets.get_ticket(engine, ticket.id)["history"]
    assert [h["action"] for h in history].count("resolved") == 1
