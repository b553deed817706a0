"""Signed, single-use answer links (alerts/link_tokens.py, alerts/action_links.py): tokens, the
key file, and the links in real messages (SMTP, webhook, apprise) used on both stores."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import Engine, select

from alerts import tickets
from alerts.action_links import use_link
from alerts.errors import TicketTransition
from alerts.link_tokens import KEY_FILE, ActionLinks, LinkRefused, load_link_secret
from alerts.notify import (
    AppriseNotifier,
    Dispatcher,
    Notifier,
    SmtpNotifier,
    WebhookNotifier,
)
from alerts.routing import parse_routing
from alerts.schema import used_links
from collector.errors import ConfigError
from collector.schema import audit_log
from tests.alerts.receivers import SmtpServer, WebhookServer
from tests.alerts.support import World, pc
from tests.fakes import FakeClock
from tests.services import free_port

KEY = b"k" * 32
PUBLIC = "https://giamsat.example.gov.vn"
LINK = re.compile(r"https://giamsat\.example\.gov\.vn/web/a/(\S+)")


def test_a_token_says_what_it_was_signed_for_and_nothing_else_passes() -> None:
    clock = FakeClock()
    links = ActionLinks(KEY, PUBLIC)
    token = links.sign(42, "resolve", "isp/email", clock.now())
    claim = links.read(token)
    assert (claim.ticket_id, claim.action, claim.recipient) == (42, "resolve", "isp/email")
    assert claim.expires_at == clock.now() + timedelta(hours=72)
    assert links.url(token) == f"{PUBLIC}/web/a/{token}"
    assert links.read(links.sign(42, "resolve", "isp/email", clock.now())).link_id != claim.link_id
    payload, mac = token.split(".")
    # Another ticket, action or expiry written into the payload: the MAC no longer matches.
    forged = ActionLinks(b"x" * 32, PUBLIC).sign(43, "resolve", "isp/email", clock.now())
    for bad in (f"{forged.split('.')[0]}.{mac}", f"{payload}.{forged.split('.')[1]}", forged):
        with pytest.raises(LinkRefused) as caught:
            links.read(bad)
        assert caught.value.reason == "altered"
    assert links.links_for(42, "resolved", "isp/email", clock.now()) == {}
    assert set(links.links_for(42, "acknowledged", "isp/email", clock.now())) == {"resolve"}
    with pytest.raises(ConfigError):
        ActionLinks(b"short", PUBLIC)


@given(st.text(max_size=500))
def test_any_text_as_a_token_is_refused_as_altered(text: str) -> None:
    links = ActionLinks(KEY, PUBLIC)
    with pytest.raises(LinkRefused) as caught:
        links.read(text)
    assert caught.value.reason == "altered"


def test_the_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = load_link_secret(None, tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 32
    assert load_link_secret(None, tmp_path / "data") == first  # links survive a restart
    os.chmod(path, 0o644)
    assert load_link_secret(None, tmp_path / "data") == first
    assert path.stat().st_mode & 0o777 == 0o600
    configured = SecretStr("s" * 40)
    assert load_link_secret(configured, tmp_path / "data") == b"s" * 40
    path.write_text("short", encoding="ascii")
    with pytest.raises(ConfigError) as caught:
        load_link_secret(None, tmp_path / "data")
    assert KEY_FILE in str(caught.value)


def test_workers_starting_together_share_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(load_link_secret(None, tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary file left


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
