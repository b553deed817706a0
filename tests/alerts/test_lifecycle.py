"""Ticket state in one owner (alerts/lifecycle.py): SLA deadlines on the owner's clock, breaches
escalated, a flapping cause reopened then reclassified, and throttled messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from agent.vntime import VN_TZ
from alerts.rules import parse_rules
from alerts.schema import outbox, ticket_history
from tests.alerts.sites import commune_with_site
from tests.alerts.support import World, pc, router
from tests.fakes import FakeClock


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)


def _messages(engine: Engine) -> list[tuple[int, str]]:
    """(history id, action) of every queued message, in order (one per channel)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(outbox.c.history_id, ticket_history.c.action)
                .join(ticket_history, ticket_history.c.id == outbox.c.history_id)
                .order_by(outbox.c.id)
            ).all()
        )


def test_a_working_hours_sla_runs_across_the_weekend(engine: Engine) -> None:
    world = World(engine, clock=FakeClock(vn(11, 15, 58).astimezone(UTC)))
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (ticket,) = world.tickets()
    # commune-it: respond 2h, resolve 8h, in working hours. Opened Friday 15:58: 62 minutes of
    # Friday are left; the rest runs from Monday 07:00 (and over Monday's lunch break).
    assert ticket.opened_at == vn(11, 15, 58)
    assert ticket.respond_by == vn(14, 7, 58)
    assert ticket.resolve_by == vn(14, 15, 58)
    # All weekend long nothing is breached.
    world.clock.advance((vn(14, 7, 50) - world.clock.now()).total_seconds())
    world.alerts.sweep()
    assert not world.tickets()[0].response_breached
    world.clock.advance(15 * 60)
    world.alerts.sweep()
    assert world.tickets()[0].response_breached


def test_a_round_the_clock_sla_does_not_wait_for_monday(engine: Engine) -> None:
    world = World(engine, clock=FakeClock(vn(11, 20, 0).astimezone(UTC)))
    commune = world.communes[0]
    site = world.enrol(commune, [router(f"{commune}-RT")])
    world.tick()
    site.devices = [router(f"{commune}-RT", wan_up=False)]
    world.tick()
    (ticket,) = world.tickets()
    assert ticket.owner == "isp"
    assert ticket.respond_by - ticket.opened_at == (vn(11, 21, 0) - vn(11, 20, 30))


def test_an_automatic_resolution_is_told_late_and_not_at_all_if_it_reopens(
    engine: Engine,
) -> None:
    world = World(engine)
    commune = world.communes[0]
    agent = world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    agent.devices = [pc(f"{commune}-PC-0", disk=50.0)]
    for _ in range(7):  # recovered; the hold-down (5 min) resolves it
        world.tick()
    assert world.tickets()[0].state == "resolved"
    with engine.connect() as conn:
        resolved = conn.execute(
            select(outbox.c.next_attempt_at)
            .join(ticket_history, ticket_history.c.id == outbox.c.history_id)
            .where(ticket_history.c.action == "resolved")
        ).scalar_one()
    assert resolved > world.clock.now()  # due 5 minutes after the resolution
    # The disk fills again before that: the owner is never told of either change.
    agent.devices = [pc(f"{commune}-PC-0", disk=97.0)]
    world.tick()
    (ticket,) = world.tickets()
    assert ticket.state == "open"
    assert ticket.reopen_count == 1
    assert [action for _, action in _messages(engine)] == ["opened"]


def test_a_flapping_ticket_gets_at_most_its_cap_then_one_digest(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    agent = world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    # The disk flaps across the threshold every 12 minutes for two hours: each recovery is
    # resolved, told, and the next breach reopens the same ticket.
    for round_ in range(10):
        agent.devices = [pc(f"{commune}-PC-0", disk=97.0 if round_ % 2 == 0 else 50.0)]
        for _ in range(12):
            world.tick()
    actions = [action for _, action in _messages(engine)]
    cap = world.alerts.rules.tickets.flap_messages
    # Within the first hour: at most the cap; the changes beyond wait for the digest.
    assert actions[:cap] == ["opened", "resolved", "reopened"][:cap]
    assert "digest" in actions
    assert len(actions) <= 2 * cap + 2
    with engine.connect() as conn:
        notes = list(
            conn.execute(
                select(ticket_history.c.note).where(ticket_history.c.action == "digest")
            ).scalars()
        )
    assert notes
    assert "changes since the last message" in notes[0]


def test_a_resolution_reclassified_and_reopened_at_once_is_never_told(engine: Engine) -> None:
    """A line dropping a minute every 6 minutes: each return comes as the hold-down resolves the
    last drop, and the third also reclassifies it as a degraded line. The owner hears of the
    ticket and of its new class, never of resolutions undone in the same instant."""
    world = World(engine)
    commune = world.communes[0]
    site = world.enrol(commune, [router(f"{commune}-RT")])
    world.tick()
    for _ in range(5):
        site.devices = [router(f"{commune}-RT", wan_up=False)]
        world.tick()
        site.devices = [router(f"{commune}-RT")]
        for _ in range(5):
            world.tick()
    (ticket,) = world.tickets()
    assert ticket.problem_class == "site_link_degraded"
    assert ticket.reopen_count >= 3
    actions = [action for _, action in _messages(engine)]
    assert actions[:2] == ["opened", "reclassified"]
    assert "resolved" not in actions[:-1]  # only a last, real recovery may be told


def test_flapping_link_is_one_ticket_reopened_then_degraded(engine: Engine) -> None:
    rules = parse_rules("tickets: {hold_down: 2m, reopen_window: 1h}")
    world = World(engine, rules=rules)
    flappy, other = world.communes[0], world.communes[1]
    made = commune_with_site(world, flappy)
    commune_with_site(world, other)
    world.tick()
    first_down = world.clock.now()
    for _ in range(3):
        for agent in made[:-1]:
            agent.devices = [pc(agent.devices[0]["device_id"], probe="cut")]
        made[-1].devices = [router(f"{flappy}-RT", wan_up=False)]
        for _ in range(4):
            world.tick(cut=frozenset({flappy}))
        last_up = world.clock.now()
        for agent in made[:-1]:
            agent.devices = [pc(agent.devices[0]["device_id"])]
        made[-1].devices = [router(f"{flappy}-RT")]
        for _ in range(4):
            world.tick()
    (ticket,) = world.tickets()
    assert ticket.commune_code == flappy
    assert ticket.problem_class == "site_link_degraded"
    assert ticket.owner == "isp"
    assert ticket.reopen_count == 2
    assert ticket.started_at == first_down
    assert ticket.ended_at == last_up
    with engine.connect() as conn:
        actions = list(
            conn.execute(
                select(ticket_history.c.action)
                .where(ticket_history.c.ticket_id == ticket.id)
                .order_by(ticket_history.c.id)
            ).scalars()
        )
    assert actions.count("reopened") == 2
    assert "reclassified" in actions


def test_sla_breach_is_flagged_and_escalated(engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (ticket,) = world.tickets()
    assert ticket.owner == "commune-it"
    assert ticket.respond_by - ticket.opened_at == timedelta(hours=2)
    world.clock.advance(2 * 3600)
    world.tick()
    (ticket,) = world.tickets()
    assert ticket.response_breached
    assert not ticket.resolution_breached
    with engine.connect() as conn:
        targets = set(
            conn.execute(
                select(outbox.c.owner, outbox.c.channel_id, outbox.c.target, outbox.c.urgent)
                .join(ticket_history, ticket_history.c.id == outbox.c.history_id)
                .where(ticket_history.c.action == "breached")
            ).all()
        )
    # The owner and the team it escalates to (routing.yaml: commune-it -> so-khcn), as
    # references to their channels (no address stored), urgent.
    assert targets == {("commune-it", "email", "", True), ("so-khcn", "email", "", True)}
