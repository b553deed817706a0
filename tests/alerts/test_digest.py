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
from tests.alerts.support import World, pc, printer
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
            routing=routing,
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
            routing=routing,
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
        dispatcher = Dispatcher(
            engine, world.clock, {"webhook": WebhookNotifier(client)}, routing=routing
        )
        world.tick()
        assert dispatcher.deliver_due().sent == 2
    assert [message["event"] for message in receiver.received] == ["opened", "opened"]


def test_digest_minutes_is_validated() -> None:
    with pytest.raises(RulesError) as caught:
        _routing("digest_minutes: 0", "{type: email, to: a@example.vn}")
    assert "owner 'team', field 'digest_minutes'" in str(caught.value)


def test_sla_breach_and_escalation_go_out_at_once_despite_digests(
    engine: Engine, receiver: WebhookServer
) -> None:
    routing = parse_routing(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Cán bộ kỹ thuật xã
    channels: [{{type: webhook, to: "{receiver.url}"}}]
    sla: {{respond: 30m, resolve: 4h}}
    escalate_to: boss
    digest_minutes: 120
  boss:
    kind: team
    name_vi: Lãnh đạo Sở KH&CN
    channels: [{{type: webhook, to: "http://127.0.0.1:{receiver.port}/boss"}}]
    sla: {{respond: 1h, resolve: 1d}}
    digest_minutes: 120
routes:
  - {{name: all, owner: team}}
"""
    )
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    opened_at = world.clock.now()
    due = digest_due(opened_at, 120)
    with httpx.Client(timeout=5.0) as client:
        dispatcher = Dispatcher(
            engine, world.clock, {"webhook": WebhookNotifier(client)}, routing=routing
        )
        world.tick()  # opened: waits for the window
        assert dispatcher.deliver_due().sent == 0
        world.clock.advance(31 * 60)
        world.tick()  # the response SLA (30 min) is breached: the owner and its escalation
        assert world.clock.now() < due
        assert dispatcher.deliver_due().sent == 2
        assert [(m["event"], m["ticket"]["owner"]) for m in receiver.received] == [
            ("breached", "team"),
            ("breached", "team"),
        ]
        assert sorted(receiver.paths) == ["/boss", "/hook"]
        assert dispatcher.pending() == 1  # the opening still waits for the digest
        world.clock.advance((due - world.clock.now()).total_seconds())
        assert dispatcher.deliver_due().sent == 1
    assert [m["event"] for m in receiver.received] == ["breached", "breached", "opened"]


def test_a_channel_shared_with_an_owner_without_digest_is_not_held_for_it(
    engine: Engine, receiver: WebhookServer
) -> None:
    routing = parse_routing(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT Sở KH&CN
    channels: [{{type: webhook, to: "{receiver.url}"}}]
    sla: {{respond: 4h, resolve: 1d}}
    digest_minutes: 60
  printers:
    kind: vendor
    name_vi: Nhà cung cấp máy in
    channels: [{{type: webhook, to: "{receiver.url}"}}]
    sla: {{respond: 4h, resolve: 1d}}
routes:
  - {{name: printers, problem_classes: [printer_fault], owner: printers}}
  - {{name: all, owner: team}}
"""
    )
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0), printer(f"{commune}-PR", jammed=True)])
    due = digest_due(world.clock.now(), 60)
    with httpx.Client(timeout=5.0) as client:
        dispatcher = Dispatcher(
            engine, world.clock, {"webhook": WebhookNotifier(client)}, routing=routing
        )
        world.tick()
        assert dispatcher.deliver_due().sent == 1  # the printer vendor's, at once
        assert [m["ticket"]["owner"] for m in receiver.received] == ["printers"]
        # The printer clears while the receiver is down: that message is still being retried
        # when the team's digest falls due, and must not be folded into the team's digest.
        receiver.failing = True
        world.agents[0].devices = [pc(f"{commune}-PC-0", disk=97.0), printer(f"{commune}-PR")]
        world.tick()
        assert dispatcher.deliver_due().failed == 0  # nothing due yet: hold-down first
        for _ in range(11):  # the hold-down (5 min), then the resolution notice's delay (5 min)
            world.tick()
        assert dispatcher.deliver_due().failed == 1  # the printer's "resolved"
        receiver.failing = False
        world.clock.advance((due - world.clock.now()).total_seconds())
        assert dispatcher.deliver_due().sent == 2  # the team's opening, the printer's resolution
    assert sorted((m["event"], m["ticket"]["owner"]) for m in receiver.received) == [
        ("opened", "printers"),
        ("opened", "team"),
        ("resolved", "printers"),
    ]
