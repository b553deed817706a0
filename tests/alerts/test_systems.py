"""Central systems: the systems map as data, and one software_outage per failing system."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine

from alerts.errors import RulesError
from alerts.routing import parse_routing
from alerts.rules import parse_rules
from alerts.systems import SystemMap, load_systems, parse_systems
from tests.alerts.support import World, pc

# -- the map ------------------------------------------------------------------------------------


def _id(systems: SystemMap, target: str | None, host: str | None) -> str | None:
    found = systems.system_for(target, host)
    return found.id if found is not None else None


def test_bundled_systems_map_probes_by_name_and_by_host() -> None:
    systems = load_systems()
    assert {"motcua", "dvcqg", "ca"} <= systems.ids
    assert _id(systems, "motcua", "motcua.ninhbinh.gov.vn") == "motcua"
    # A probe named otherwise is matched by its URL host (any case).
    assert _id(systems, "cong-quoc-gia", "DichVuCong.gov.vn") == "dvcqg"
    assert _id(systems, "portal", "dichvucong.ninhbinh.gov.vn") == "motcua"
    assert _id(systems, "ocsp", "ocsp.ca.gov.vn") == "ca"
    portal = systems.get("dvcqg")
    assert portal is not None
    assert portal.name_vi == "Cổng Dịch vụ công quốc gia"


def test_an_undeclared_target_is_a_system_of_its_own() -> None:
    systems = load_systems()
    one = systems.system_for("tracuu", "tracuu.example.vn")
    assert one is not None
    assert (one.id, one.declared) == ("tracuu", False)
    assert "tracuu.example.vn" in one.name_vi
    assert "chưa khai báo" in one.name_vi
    assert _id(systems, "hoso", None) == "hoso"
    # The name wins over the host: a probe named after a declared system is that system.
    assert _id(systems, "dvcqg", "mirror.example.vn") == "dvcqg"
    assert systems.system_for(None, None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "systems:\n  a: {name_vi: A, name_en: A, targets: [x]}\n"
            "  b: {name_vi: B, name_en: B, targets: [x]}\n",
            "systems.yaml system 'b', field 'targets.0': probe target 'x' already belongs to "
            "system 'a'",
        ),
        (
            "systems:\n  a: {name_vi: A, name_en: A}\n"
            "  b: {name_vi: B, name_en: B, targets: [a]}\n",
            "system 'b', field 'targets.0'",
        ),
        ("systems:\n  a: {name_vi: A}\n", "system 'a', field 'name_en'"),
        (
            "systems:\n  a: {name_vi: A, name_en: A, hosts: ['motcua gov']}\n",
            "system 'a', field 'hosts.0'",
        ),
        ("systems:\n  a: {name_vi: A, name_en: A, hosts: ['*']}\n", "matches every host"),
        ("systems:\n  Bad_Id: {name_vi: A, name_en: A}\n", "system 'Bad_Id', field 'id'"),
        ("systems:\n  a: {name_vi: A, name_en: A, id: b}\n", "system 'a', field 'id'"),
        ("systems:\n  a: {name_vi: A, name_en: A, owner: x}\n", "system 'a', field 'owner'"),
        ("systems:\n  a: [motcua]\n", "system 'a': expected a mapping"),
        ("systems: [motcua]\n", "field 'systems': expected a mapping"),
        ("targets: [motcua]\n", "unknown field(s) targets"),
        ("systems: {a: [\n", "not valid YAML"),
    ],
)
def test_bad_systems_name_entry_and_field(text: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_systems(text)
    assert expected in str(caught.value)


def test_host_patterns_are_compared_lower_case() -> None:
    systems = parse_systems("systems:\n  a: {name_vi: A, name_en: A, hosts: ['*.EXAMPLE.vn']}\n")
    assert _id(systems, "p", "portal.example.vn") == "a"


def test_rules_file_with_the_old_targets_list_is_told_where_it_went() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules("software: {targets: [motcua]}")
    assert "section 'software', field 'targets'" in str(caught.value)
    assert "systems.yaml" in str(caught.value)


_OWNERS = """
default_owner: team
owners:
  team: {kind: team, name_vi: Tổ CNTT, sla: {respond: 1h, resolve: 1d}}
  portal: {kind: vendor, name_vi: Cổng, sla: {respond: 30m, resolve: 4h}}
"""


# -- grouping on the real ingest path -----------------------------------------------------------


def _province(
    world: World, probes: tuple[str, ...] = ("motcua", "dvcqg"), hosts: dict | None = None
) -> list:
    made = [
        world.enrol(code, [pc(f"{code}-PC-{i}", targets=probes, hosts=hosts)])
        for code in world.communes[:8]
        for i in range(2)
    ]
    for _ in range(3):
        world.tick()
    return made


def _set(agents: list, **kwargs: object) -> None:
    for agent in agents:
        agent.devices = [pc(agent.devices[0]["device_id"], **kwargs)]  # type: ignore[arg-type]


def test_two_systems_failing_at_once_are_two_tickets_for_their_two_owners(
    engine: Engine,
) -> None:
    world = World(engine)
    pcs = _province(world)
    motcua_start = world.clock.now()
    _set(pcs, probe={"motcua": "fail"})
    world.tick()
    portal_start = world.clock.now()
    _set(pcs, probe={"motcua": "fail", "dvcqg": "fail"})
    for _ in range(3):
        world.tick()
    portal_end = world.clock.now()
    _set(pcs, probe={"motcua": "fail"})
    world.tick()
    motcua_end = world.clock.now()
    _set(pcs)
    world.tick()

    found = {t.system: t for t in world.tickets()}
    assert sorted((t.problem_class, t.system, t.owner) for t in found.values()) == [
        ("software_outage", "dvcqg", "dvcqg-operator"),
        ("software_outage", "motcua", "motcua-vendor"),
    ]
    assert (found["motcua"].started_at, found["motcua"].ended_at) == (motcua_start, motcua_end)
    assert (found["dvcqg"].started_at, found["dvcqg"].ended_at) == (portal_start, portal_end)
    assert "Cổng Dịch vụ công quốc gia" in found["dvcqg"].title_vi
    assert "National Public Service Portal" in found["dvcqg"].title_en
    for ticket in found.values():
        assert ticket.commune_code is None
        assert f"Xã bị ảnh hưởng ({len(world.communes[:8])})" in ticket.body_vi
        for code in world.communes[:8]:
            assert f"({code})" in ticket.body_vi


def test_one_system_failing_in_many_communes_is_one_ticket_the_others_stay_quiet(
    engine: Engine,
) -> None:
    world = World(engine)
    pcs = _province(world, probes=("motcua", "dvcqg", "ca-gov"))
    _set(pcs, probe={"ca-gov": "fail"}, targets=("motcua", "dvcqg", "ca-gov"))
    for _ in range(4):
        world.tick()
    found = world.tickets()
    assert [(t.problem_class, t.system, t.owner, t.state) for t in found] == [
        ("software_outage", "ca", "ca-operator", "open")
    ]
    assert "chữ ký số" in found[0].title_vi


def test_an_undeclared_system_failing_is_its_own_ticket_for_the_default_team(
    engine: Engine,
) -> None:
    world = World(engine)
    probes = ("motcua", "dvcqg", "tracuu")
    hosts = {"tracuu": "tracuu.example.vn"}
    pcs = _province(world, probes=probes, hosts=hosts)
    _set(pcs, probe={"tracuu": "fail"}, targets=probes, hosts=hosts)
    for _ in range(4):
        world.tick()
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.system, ticket.owner, ticket.unrouted) == (
        "software_outage",
        "tracuu",
        "so-khcn",
        True,
    )
    assert "tracuu.example.vn" in ticket.title_vi
    assert "chưa khai báo trong systems.yaml" in ticket.title_vi


def test_probes_named_otherwise_join_their_system_by_host(engine: Engine) -> None:
    world = World(engine)
    probes = ("motcua", "cong-dvc")
    hosts = {"cong-dvc": "dichvucong.gov.vn"}
    pcs = _province(world, probes=probes, hosts=hosts)
    # Half the communes' agents name the portal "dvcqg", the others "cong-dvc" by its host:
    # still one system failing everywhere, one ticket.
    for number, agent in enumerate(pcs):
        name = "dvcqg" if number % 4 < 2 else "cong-dvc"
        agent.devices = [
            pc(
                agent.devices[0]["device_id"],
                probe={name: "fail"},
                targets=("motcua", name),
                hosts=hosts,
            )
        ]
    for _ in range(4):
        world.tick()
    assert [(t.system, t.owner) for t in world.tickets()] == [("dvcqg", "dvcqg-operator")]


def test_one_commune_slow_on_one_system_can_be_routed_by_that_system(engine: Engine) -> None:
    routing = parse_routing(
        _OWNERS + "routes:\n  - {name: p, problem_classes: [software_slow_site], systems: [dvcqg],"
        " owner: portal}\n"
    )
    world = World(engine, routing=routing)
    pcs = _province(world)
    slow = world.communes[3]
    start: datetime = world.clock.now()
    _set([a for a in pcs if a.commune == slow], probe={"dvcqg": "slow"})
    for _ in range(4):
        world.tick()
    (ticket,) = world.tickets()
    assert (ticket.problem_class, ticket.commune_code, ticket.system, ticket.owner) == (
        "software_slow_site",
        slow,
        "dvcqg",
        "portal",
    )
    assert ticket.started_at == start
    assert "Cổng Dịch vụ công quốc gia" in ticket.title_vi
