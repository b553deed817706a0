"""The signing chain at the counter (alerts/detectors/signing.py, issue 23): tokens, bridges,
and the signing rules; expiring certificates are in test_certificates.py.

Reports travel the real ingest path (journal, processor, alert engine) on both stores; the
signing and token samples are the agent's own (tests/alerts/signing_samples.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from alerts.errors import RulesError
from alerts.rules import parse_rules
from tests.alerts.detectors.support import counter_pc, of_class, run
from tests.alerts.signing_samples import Cert
from tests.alerts.support import World
from tests.fakes import FakeClock

BINH = Cert("Trần Thị Bình", "54AB02", days=60.0)


def test_token_missing_only_counts_opening_time_and_ends_when_it_is_back(engine: Engine) -> None:
    # Monday 02/03/2026, 08:00 in Hà Nội: the centre is open.
    world = World(engine, clock=FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)))
    commune = world.communes[0]
    agent = world.enrol(commune, [])
    # PC-1 signs (a token was seen on it); PC-2 is a PC where no token was ever plugged in.
    run(
        world, agent, [counter_pc(world, "PC-1", (BINH,)), counter_pc(world, "PC-2", present=False)]
    )
    absent = [counter_pc(world, "PC-1", present=False), counter_pc(world, "PC-2", present=False)]
    run(world, agent, absent, ticks=50)
    assert of_class(world, "token_missing") == []  # 50 minutes: the clerk may be on a break
    run(world, agent, absent, ticks=12)
    (ticket,) = of_class(world, "token_missing")
    assert (ticket.device_id, ticket.owner) == ("PC-1", "commune-it")
    assert json.loads(ticket.evidence)["token"] == "none plugged in"
    run(
        world, agent, [counter_pc(world, "PC-1", (BINH,)), counter_pc(world, "PC-2", present=False)]
    )
    (ticket,) = of_class(world, "token_missing")
    assert not ticket.active
    # Taken home at 17:05: the night does not count; the next morning's hour does.
    world.clock.advance(
        (datetime(2026, 3, 2, 10, 5, tzinfo=UTC) - world.clock.now()).total_seconds()
    )
    run(world, agent, absent)
    world.clock.advance(
        (datetime(2026, 3, 3, 0, 30, tzinfo=UTC) - world.clock.now()).total_seconds()
    )
    run(world, agent, absent, ticks=10)  # 07:30-07:40: 40 minutes of opening time
    (ticket,) = of_class(world, "token_missing")
    assert not ticket.active
    world.clock.advance(25 * 60)
    run(world, agent, absent)  # 08:05: 65 minutes of opening time without a token
    # Resolved yesterday, beyond the reopen window: a ticket of its own, since 17:05.
    first, second = of_class(world, "token_missing")
    assert first.state == "resolved"
    assert not first.active
    assert second.active
    assert second.device_id == "PC-1"
    assert json.loads(second.evidence)["absent since"].startswith("17:05")


def test_a_signing_bridge_not_ready_is_ticketed_with_its_own_words(engine: Engine) -> None:
    world = World(engine)
    agent = world.enrol(world.communes[0], [])
    # VNPT-CA Plugin ready; the VGCA Sign Service is not installed on this PC (never answered).
    run(world, agent, [counter_pc(world, "PC-1", (BINH,), vnpt_ca="ok", vgca="down")], ticks=2)
    broken = counter_pc(
        world, "PC-1", (BINH,), vnpt_ca="error", vgca="down", answer="Licence key invalid"
    )
    run(world, agent, [broken], ticks=4)
    assert of_class(world, "signing_plugin_down") == []  # not yet for plugin_down_for (5 min)
    run(world, agent, [broken], ticks=3)
    (ticket,) = of_class(world, "signing_plugin_down")
    assert (ticket.device_id, ticket.owner) == ("PC-1", "commune-it")
    assert "VNPT-CA Plugin không sẵn sàng" in ticket.body_vi
    assert "Licence key invalid" in ticket.body_vi
    assert "Licence key invalid" in ticket.body_en
    evidence = json.loads(ticket.evidence)
    assert (evidence["plugin"], evidence["port"]) == ("VNPT-CA Plugin", "4433")
    run(world, agent, [counter_pc(world, "PC-1", (BINH,), vnpt_ca="ok", vgca="down")])
    (ticket,) = of_class(world, "signing_plugin_down")
    assert not ticket.active
    # Then it stops answering at all: the same ticket comes back, with the new words.
    silent = counter_pc(world, "PC-1", (BINH,), vnpt_ca="down", vgca="down")
    run(world, agent, [silent], ticks=7)
    (ticket,) = of_class(world, "signing_plugin_down")
    assert ticket.active
    assert "4433=connect_refused" in json.loads(ticket.evidence)["plugin's own words"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("signing: {cert_days: 0}", "section 'signing', field 'cert_days'"),
        ("signing: {tls_cert_days: soon}", "section 'signing', field 'tls_cert_days'"),
        ("signing: {token_absent_for: 0s}", "token_absent_for must be longer than 0"),
        ("signing: {plugin_down_for: later}", "section 'signing', field 'plugin_down_for'"),
        ("signing: {token_absent_for: 40d}", "token_absent_for (40 days, 0:00:00) must be shorter"),
        ("signing: {certs: 30}", "section 'signing', field 'certs'"),
    ],
)
def test_bad_signing_rules_name_the_field(text: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert expected in str(caught.value)


def test_signing_rules_are_data() -> None:
    rules = parse_rules("signing: {cert_days: 45, token_absent_for: 2h}")
    assert rules.signing.cert_days == 45
    assert rules.signing.token_absent_for.total_seconds() == 7200
    assert rules.signing.tls_cert_days == 14  # the rest keep their defaults
