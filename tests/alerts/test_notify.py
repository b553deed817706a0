"""Notifications reach a real SMTP server and a webhook, including after they were down."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine

from alerts.notify import Dispatcher, SmtpNotifier, WebhookNotifier
from alerts.routing import parse_routing
from tests.alerts.receivers import SmtpServer, WebhookServer
from tests.alerts.support import World, pc
from tests.services import free_port


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer(free_port())
    server.start()
    yield server
    server.stop()


def _routing(webhook_url: str):
    return parse_routing(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT Sở KH&CN
    name_en: DOST IT team
    channels: [{{type: email, to: cntt@example.vn}}, {{type: webhook, to: "{webhook_url}"}}]
    sla: {{respond: 30m, resolve: 4h}}
routes:
  - {{name: all, owner: team}}
"""
    )


def test_outbox_survives_notifiers_down_and_delivers_once_back(
    engine: Engine, smtp: SmtpServer, webhook: WebhookServer
) -> None:
    routing = _routing(webhook.url)
    world = World(engine, routing=routing)
    commune = world.communes[0]
    agent = world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    with httpx.Client(timeout=5.0) as client:
        dispatcher = Dispatcher(
            engine,
            world.clock,
            {
                "email": SmtpNotifier("127.0.0.1", smtp.port, "canhbao@example.vn", timeout=5),
                "webhook": WebhookNotifier(client),
            },
            routing=routing,
            backoff_base=timedelta(seconds=30),
        )
        # Both receivers are down when the ticket opens.
        webhook.failing = True
        world.tick()
        first = dispatcher.deliver_due()
        assert (first.sent, first.failed) == (0, 2)
        assert dispatcher.pending() == 2
        # Not due again before the backoff: nothing is attempted.
        world.clock.advance(10)
        assert dispatcher.deliver_due().failed == 0
        # The servers recover; after the backoff the messages go out exactly once.
        smtp.start()
        webhook.failing = False
        world.clock.advance(30)
        again = dispatcher.deliver_due()
        assert (again.sent, again.failed) == (2, 0)
        assert dispatcher.deliver_due().sent == 0
        # Recovery, hold-down, auto-resolution told once it held 5 minutes: one more message per
        # channel.
        agent.devices = [pc(f"{commune}-PC-0", disk=50.0)]
        for _ in range(12):
            world.tick()
        assert dispatcher.deliver_due().sent == 2

    assert dispatcher.pending() == 0
    subjects = [message["Subject"] for message in smtp.messages]
    assert len(subjects) == 2
    assert subjects[0].startswith("[opened]")
    assert subjects[1].startswith("[resolved]")
    body = smtp.messages[0].get_content()
    assert "Ổ đĩa sắp đầy" in body
    assert "Disk nearly full" in body
    assert [event["event"] for event in webhook.received] == ["opened", "resolved"]
    ticket = webhook.received[0]["ticket"]
    assert ticket["problem_class"] == "device_health"
    assert ticket["commune_code"] == commune
    assert ticket["owner"] == "team"


def test_backoff_grows_and_is_capped(engine: Engine) -> None:
    world = World(engine)
    dispatcher = Dispatcher(
        engine,
        world.clock,
        {},
        routing=world.alerts.routing,
        backoff_base=timedelta(seconds=30),
        backoff_max=timedelta(minutes=10),
    )
    assert [dispatcher.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [
        30,
        60,
        120,
        240,
        480,
        600,
    ]


def test_vietnamese_subjects_keep_every_space_in_the_mail_client(smtp: SmtpServer) -> None:
    from alerts.notify import Message

    smtp.start()
    notifier = SmtpNotifier("127.0.0.1", smtp.port, "cm@example.vn")
    title = "Hệ thống phần mềm dùng chung gặp sự cố — của tỉnh (một cửa điện tử): toàn tỉnh"
    words = title.split(" ")
    subjects = [" ".join(words[: 4 + n % len(words)] * (1 + n % 6))[:500] for n in range(40)]
    for subject in subjects:
        notifier.send(Message("kythuat@xa.example.gov.vn", subject, "Nội dung"))
    # Parsed as a mail client does (the modern policy), each subject arrives as it was written.
    assert [str(mail["Subject"]) for mail in smtp.messages] == subjects


def test_each_failed_attempt_is_logged_once_with_ticket_channel_error_and_retry(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # The demo's old complaint (issue 22): a hundred "notification not delivered" lines saying
    # nothing. One line per attempt, naming the ticket, the channel, the error and the next try.
    routing = parse_routing(
        """
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT
    channels: [{type: email, to: cntt@example.vn}]
    sla: {respond: 30m, resolve: 4h}
routes:
  - {name: all, owner: team}
"""
    )
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    closed = free_port()  # nothing listens there: every attempt is refused
    dispatcher = Dispatcher(
        engine,
        world.clock,
        {"email": SmtpNotifier("127.0.0.1", closed, "canhbao@example.vn", timeout=2)},
        routing=routing,
        backoff_base=timedelta(seconds=30),
    )
    world.tick()
    (ticket,) = world.tickets()

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage().startswith("notification not")]

    with caplog.at_level(logging.WARNING, logger="alerts.notify"):
        assert dispatcher.deliver_due().failed == 1
        (first,) = failures()
        retry_at = world.clock.now() + timedelta(seconds=30)
        text = first.getMessage()
        assert f"#{ticket.id}" in text
        assert "team/email" in text
        assert f"next try {retry_at.isoformat(timespec='seconds')}" in text
        assert first.__dict__["tickets"] == [ticket.id]
        assert first.__dict__["channel"] == "email"
        assert first.__dict__["error"]
        assert first.__dict__["error"] in text
        assert first.__dict__["next_attempt_at"] == retry_at.isoformat()
        # Not due yet: no attempt, no line.
        world.clock.advance(10)
        assert dispatcher.deliver_due().failed == 0
        assert len(failures()) == 1
        # The second attempt: one more line, with the doubled wait.
        world.clock.advance(30)
        assert dispatcher.deliver_due().failed == 1
        second = failures()[1]
        assert len(failures()) == 2
        expected = world.clock.now() + timedelta(seconds=60)
        assert second.__dict__["next_attempt_at"] == expected.isoformat()
