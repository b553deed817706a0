"""Grouped digests: an owner with ``digest_minutes`` gets one message per window, on the clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine

from alerts.errors import RulesError
from alerts.notify import AppriseNotifier, Dispatcher, WebhookNotifier, digest_due
from alerts.routing import Routing, parse_routing
from tests.alerts.receivers import WebhookServer
from tests.alerts.support import World, pc
from tests.services import free_port


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    server = WebhookServer(free_port())
    server.start()
    yield server
    server.stop()


def _routing(digest: str, channels: str) -> Routing:
    return parse_routing(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT Sở KH&CN
    name_en: DOST IT team
    channels: [{channels}]
    sla: {{respond: 30m, resolve: 4h}}
    {digest}
routes:
  - {{name: all, owner: team}}
"""
    )


def test_digest_window_ends_on_hanoi_boundaries() -> None:
    # 01:03 UTC = 08:03 in Hà Nội: the 10-minute window ends 08:10, the daily one at midnight.
    now = datetime(2026, 3, 2, 1, 3, tzinfo=UTC)
    assert digest_due(now, 10) == datetime(2026, 3, 2, 1, 10, tzinfo=UTC)
    assert digest_due(now, 1440) == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    # On a boundary the change waits for the next window, never goes out at once.
    assert digest_due(datetime(2026, 3, 2, 1, 10, tzinfo=UTC), 10) == datetime(
        2026, 3, 2, 1, 20, tzinfo=UTC
    )


def test_digest_groups_changes_into_one_message_per_channel(
    engine: Engine, receiver: WebhookServer
) -> None:
    apprise_url = f"json://127.0.0.1:{receiver.port}/apprise"
    routing = _routing(
        "digest_minutes: 10",
        f'{{type: webhook, to: "{receiver.url}"}}, {{type: apprise, to: "{apprise_url}"}}',
    )
    world = World(engine, routing=routing)
    commune = world.communes[0]
    agent = world.enrol(
        commune, [pc(f"{commune}-PC-0", disk=97.0), pc(f"{commune}-PC-1", disk=50.0)]
    )
    opened_at = world.clock.now()
    due = digest_due(opened_at, 10)
    with httpx.Client(timeout=5.0) as client:
        dispatcher = Dispatcher(
            engine,
            world.clock,
            {"webhook": WebhookNotifier(client), "apprise": AppriseNotifier()},
            digest_targets=routing.digest_targets(),
        )
        world.tick()  # PC-0's disk: ticket 1
        agent.devices = [pc(f"{commune}-PC-0", disk=97.0), pc(f"{commune}-PC-1", disk=96.0)]
        world.tick()  # PC-1's disk: ticket 2
        assert len(world.tickets()) == 2
        # Within the window nothing is sent, and nothing is lost.
        while world.clock.now() < due:
            assert dispatcher.deliver_due().sent == 0
            world.clock.advance(30)
        assert dispatcher.pending() == 4
        result = dispatcher.deliver_due()
        assert (result.sent, result.failed) == (4, 0)
        assert dispatcher.deliver_due().sent == 0

    assert dispatcher.pending() == 0
    assert len(receiver.received) == 2  # one digest per channel, not one per change
    webhook_digest = next(message for message in receiver.received if "event" in message)
    assert webhook_digest["event"] == "digest"
    assert webhook_digest["count"] == 2
    assert [event["event"] for event in webhook_digest["events"]] == ["opened", "opened"]
    assert [event["ticket"]["device_id"] for event in webhook_digest["events"]] == [
        f"{commune}-PC-0",
        f"{commune}-PC-1",
    ]
    apprise_digest = next(message for message in receiver.received if "title" in message)
    assert apprise_digest["title"].startswith("[digest] 2 thay đổi phiếu")
    assert apprise_digest["message"].count("[opened]") >= 2
    assert "Ổ đĩa sắp đầy" in apprise_digest["message"]


def test_digest_retried_as_a_whole_when_the_receiver_is_down(
    engine: Engine, receiver: WebhookServer
) -> None:
    routing = _routing("digest_minutes: 5", f'{{type: webhook, to: "{receiver.url}"}}')
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0), pc(f"{commune}-PC-1", disk=97.0)])
    with httpx.Client(timeout=5.0) as client:
        dispatcher = Dispatcher(
            engine,
            world.clock,
            {"webhook": WebhookNotifier(client)},
            digest_targets=routing.digest_targets(),
        )
        world.tick()
        world.clock.advance(5 * 60)
        receiver.failing = True
        assert (dispatcher.deliver_due().failed, dispatcher.pending()) == (2, 2)
        receiver.failing = False
        world.clock.advance(30)
        assert dispatcher.deliver_due().sent == 2
    assert [message["count"] for message in receiver.received] == [2]


def test_without_digest_each_change_is_its_own_message(
    engine: Engine, receiver: WebhookServer
) -> None:
    routing = _routing("", f'{{type: webhook, to: "{receiver.url}"}}')
    assert routing.digest_targets() == frozenset()
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0), pc(f"{commune}-PC-1", disk=97.0)])
    with httpx.Client(timeout=5.0) as client:
        dispatcher = Dispatcher(engine, world.clock, {"webhook": WebhookNotifier(client)})
        world.tick()
        assert dispatcher.deliver_due().sent == 2
    assert [message["event"] for message in receiver.received] == ["opened", "opened"]


def test_digest_minutes_is_validated() -> None:
    with pytest.raises(RulesError) as caught:
        _routing("digest_minutes: 0", "{type: email, to: a@example.vn}")
    assert "owner 'team', field 'digest_minutes'" in str(caught.value)
