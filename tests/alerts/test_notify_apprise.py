"""apprise channels through the outbox, delivered for real to a loopback receiver (json://)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from alerts.errors import RulesError
from alerts.notify import AppriseNotifier, Dispatcher
from alerts.routing import Routing, parse_routing
from tests.alerts.receivers import WebhookServer
from tests.alerts.support import World, pc
from tests.services import free_port


def _routing(channel: str) -> Routing:
    return parse_routing(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT Sở KH&CN
    name_en: DOST IT team
    channels: [{channel}]
    sla: {{respond: 30m, resolve: 4h}}
routes:
  - {{name: all, owner: team}}
"""
    )


def test_apprise_message_survives_receiver_down_and_arrives_once(engine: Engine) -> None:
    port = free_port()
    url = f"json://127.0.0.1:{port}/hook"
    routing = _routing(f'{{type: apprise, to: "{url}"}}')
    world = World(engine, routing=routing)
    commune = world.communes[0]
    agent = world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    dispatcher = Dispatcher(engine, world.clock, {"apprise": AppriseNotifier()}, routing=routing)

    # Nothing listens on the port when the ticket opens: refused, kept, retried after backoff.
    world.tick()
    first = dispatcher.deliver_due()
    assert (first.sent, first.failed) == (0, 1)
    assert dispatcher.pending() == 1
    world.clock.advance(10)
    assert dispatcher.deliver_due().failed == 0  # not due before the backoff

    receiver = WebhookServer(port)
    receiver.start()
    try:
        world.clock.advance(30)
        assert dispatcher.deliver_due().sent == 1
        assert dispatcher.deliver_due().sent == 0
        assert len(receiver.received) == 1

        # The receiver answers 503 when the ticket resolves (told once the recovery held the
        # hold-down and the notice delay): kept, then delivered once.
        receiver.failing = True
        agent.devices = [pc(f"{commune}-PC-0", disk=50.0)]
        for _ in range(12):
            world.tick()
        assert dispatcher.deliver_due().failed == 1
        receiver.failing = False
        world.clock.advance(60)
        assert dispatcher.deliver_due().sent == 1
        world.clock.advance(3600)
        assert dispatcher.deliver_due().sent == 0
    finally:
        receiver.stop()

    assert dispatcher.pending() == 0
    titles = [message["title"] for message in receiver.received]
    assert len(titles) == 2
    assert titles[0].startswith("[opened]")
    assert titles[1].startswith("[resolved]")
    assert "Ổ đĩa sắp đầy" in receiver.received[0]["message"]
    assert "Disk nearly full" in receiver.received[0]["message"]


def test_apprise_url_is_validated_on_load() -> None:
    with pytest.raises(RulesError) as caught:
        _routing('{type: apprise, to: "nosuchservice://x/y"}')
    message = str(caught.value)
    assert "owner 'team'" in message
    assert "channels.0" in message
    assert "nosuchservice" in message
    # A Telegram URL with a broken token: the error names the scheme, never echoes the token.
    with pytest.raises(RulesError) as caught:
        _routing('{type: apprise, to: "tgram://SECRET-TOKEN"}')
    assert "tgram" in str(caught.value)
    assert "SECRET-TOKEN" not in str(caught.value)
    # A Telegram URL of the documented shape is accepted (not contacted on load).
    routing = _routing('{type: apprise, to: "tgram://123456789:abcdefghij_klmnop/-1001234"}')
    assert routing.owners["team"].channels[0].type == "apprise"


def test_apprise_failure_does_not_block_other_apprise_urls(engine: Engine) -> None:
    receiver = WebhookServer(free_port())
    receiver.start()
    dead = f"json://127.0.0.1:{free_port()}/hook"
    try:
        world = World(
            engine,
            routing=_routing(
                f'{{type: apprise, to: "{dead}"}}, {{type: apprise, to: "json://127.0.0.1:'
                f'{receiver.port}/hook"}}'
            ),
        )
        commune = world.communes[0]
        world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
        world.tick()
        result = Dispatcher(
            engine,
            world.clock,
            {"apprise": AppriseNotifier()},
            routing=world.alerts.routing,
            backoff_base=timedelta(seconds=30),
        ).deliver_due()
        assert (result.sent, result.failed) == (1, 1)
        assert len(receiver.received) == 1
    finally:
        receiver.stop()
