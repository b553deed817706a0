"""Routing as data (alerts/routing.py): routes by problem class, commune, device kind and
central system; the default team for the unmatched, flagged; bad files fail naming the field.
"""

from __future__ import annotations

import pytest

from alerts.errors import RulesError
from alerts.routing import load_routing, parse_routing
from alerts.systems import load_systems

_OWNERS = """
default_owner: team
owners:
  team: {kind: team, name_vi: Tổ CNTT, sla: {respond: 1h, resolve: 1d}}
  isp: {kind: vendor, name_vi: Nhà mạng, sla: {respond: 30m, resolve: 4h}}
"""


def test_unmatched_ticket_goes_to_the_default_team_flagged() -> None:
    routing = parse_routing(
        _OWNERS + "routes:\n  - {name: link, problem_classes: [site_outage], communes: ['25117'],"
        " owner: isp}\n"
    )
    matched = routing.route("site_outage", "25117", None)
    assert (matched.owner_id, matched.route, matched.unrouted) == ("isp", "link", False)
    other = routing.route("site_outage", "25120", None)
    assert (other.owner_id, other.route, other.unrouted) == ("team", None, True)


def test_device_kind_condition_routes() -> None:
    routing = parse_routing(
        _OWNERS + "routes:\n  - {name: pr, device_kinds: [printer], owner: isp}\n"
    )
    assert routing.route("device_down", "1", "printer").owner_id == "isp"
    assert routing.route("device_down", "1", "pc").unrouted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_OWNERS + "routes:\n  - {name: x, owner: nobody}", "route 0 (x), field 'owner'"),
        (
            _OWNERS + "routes:\n  - {name: x, problem_classes: [jam], owner: isp}",
            "route 0 (x), field 'problem_classes.0'",
        ),
        (
            "default_owner: t\nowners:\n  t: {kind: team, name_vi: T, sla: {respond: 1h}}",
            "owner 't', field 'sla.resolve'",
        ),
        (_OWNERS.replace("default_owner: team", "default_owner: ghost"), "'default_owner'"),
        (
            _OWNERS.replace("kind: vendor,", "kind: vendor, escalate_to: boss,"),
            "owner 'isp', field 'escalate_to'",
        ),
    ],
)
def test_bad_routing_names_entry_and_field(text: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_routing(text)
    assert expected in str(caught.value)


_PORTAL_OWNERS = """
default_owner: team
owners:
  team: {kind: team, name_vi: Tổ CNTT, sla: {respond: 1h, resolve: 1d}}
  portal: {kind: vendor, name_vi: Cổng, sla: {respond: 30m, resolve: 4h}}
"""


def test_routes_select_by_system_and_name_only_declared_systems() -> None:
    routing = parse_routing(
        _PORTAL_OWNERS
        + "routes:\n  - {name: p, problem_classes: [software_outage], systems: [dvcqg],"
        " owner: portal}\n"
    )
    assert routing.route("software_outage", None, None, "dvcqg").owner_id == "portal"
    assert routing.route("software_outage", None, None, "motcua").unrouted
    # A ticket without a system never matches a route that names systems.
    assert routing.route("software_outage", None, None).unrouted
    routing.check_systems(load_systems().ids, "systems.yaml")
    typo = parse_routing(
        _PORTAL_OWNERS + "routes:\n  - {name: p, systems: [dvcqq], owner: portal}\n", "routing.yaml"
    )
    with pytest.raises(RulesError) as caught:
        typo.check_systems(load_systems().ids, "systems.yaml")
    assert "routing.yaml route 0 (p), field 'systems.0': 'dvcqq' is not a system" in str(
        caught.value
    )


def test_bundled_routing_sends_each_central_system_to_its_vendor() -> None:
    routing = load_routing()
    routing.check_systems(load_systems().ids, "systems.yaml")
    owners = {
        system: routing.route("software_outage", None, None, system).owner_id
        for system in ("motcua", "dvcqg", "ca")
    }
    assert owners == {"motcua": "motcua-vendor", "dvcqg": "dvcqg-operator", "ca": "ca-operator"}
    undeclared = routing.route("software_outage", None, None, "tracuu")
    assert (undeclared.owner_id, undeclared.unrouted) == ("so-khcn", True)
