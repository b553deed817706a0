"""Handing a device to another agent (collector/devices.py), on both stores: only to a live
agent of the device's commune; the owner and the state follow, both agents read their devices
again, and the change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from collector import agents
from collector.devices import Moved, move_device
from collector.errors import Conflict, NotFound
from collector.schema import agents as agents_table
from collector.schema import audit_log, communes, device_owners, device_state
from tests.collector.support import enrolled, first_commune
from tests.fakes import FakeClock


def _versions(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(agents_table.c.id, agents_table.c.devices_version)).all()
    return {agent_id: version for agent_id, version in rows}


def _moves(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.target, audit_log.c.detail).where(
                audit_log.c.action == "device_moved"
            )
        ).all()
    return [tuple(row) for row in rows]


def test_a_device_is_handed_to_another_agent_of_its_commune(engine: Engine) -> None:
    clock = FakeClock()
    commune = first_commune(engine)
    one = enrolled(engine, clock, "one").agent_id
    two = enrolled(engine, clock, "two").agent_id
    with engine.begin() as conn:
        conn.execute(
            device_owners.insert().values(
                commune_code=commune, device_id="pc-1", agent_id=one, claimed_at=clock.now()
            )
        )
        conn.execute(
            device_state.insert().values(
                commune_code=commune,
                device_id="pc-1",
                agent_id=one,
                kind="pc",
                first_seen_at=clock.now(),
                measured_at=clock.now(),
                samples="[]",
            )
        )
    before = _versions(engine)
    # Handing it to its own owner changes nothing.
    assert move_device(engine, commune, "pc-1", one, clock.now(), "admin") == Moved(
        commune, "pc-1", one, one
    )
    assert _versions(engine) == before
    assert _moves(engine) == []

    clock.advance(60)
    moved = move_device(engine, commune, "pc-1", two, clock.now(), "cli:root")
    assert moved == Moved(commune, "pc-1", one, two)
    with engine.connect() as conn:
        owner = conn.execute(select(device_owners.c.agent_id, device_owners.c.claimed_at)).one()
        state_agent = conn.execute(select(device_state.c.agent_id)).scalar_one()
    assert (owner.agent_id, owner.claimed_at, state_agent) == (two, clock.now(), two)
    assert _versions(engine) == {one: before[one] + 1, two: before[two] + 1}
    assert _moves(engine) == [("cli:root", f"device:{commune}/pc-1", f"from {one} to {two}")]


def test_a_move_is_refused_naming_what_is_wrong(engine: Engine) -> None:
    clock = FakeClock()
    commune = first_commune(engine)
    owner = enrolled(engine, clock, "owner").agent_id
    revoked = enrolled(engine, clock, "gone").agent_id
    agents.revoke(engine, revoked, clock.now())
    with engine.connect() as conn:
        elsewhere_commune = (
            conn.execute(
                select(communes.c.code).where(communes.c.code != commune).order_by(communes.c.code)
            )
            .scalars()
            .first()
        )
    assert elsewhere_commune is not None
    token = agents.create_enrol_token(engine, elsewhere_commune, clock.now(), timedelta(hours=1))
    elsewhere = agents.enrol(engine, token, "far", "1", clock.now()).agent_id
    with engine.begin() as conn:
        conn.execute(
            device_owners.insert().values(
                commune_code=commune, device_id="pc-1", agent_id=owner, claimed_at=clock.now()
            )
        )
    with pytest.raises(NotFound, match=f"commune {commune} has no device 'pc-9'"):
        move_device(engine, commune, "pc-9", owner, clock.now(), "admin")
    with pytest.raises(NotFound, match="no agent 'ag_nobody'"):
        move_device(engine, commune, "pc-1", "ag_nobody", clock.now(), "admin")
    with pytest.raises(Conflict, match=f"belongs to commune {elsewhere_commune}, not {commune}"):
        move_device(engine, commune, "pc-1", elsewhere, clock.now(), "admin")
    with pytest.raises(Conflict, match="is revoked"):
        move_device(engine, commune, "pc-1", revoked, clock.now(), "admin")
    with engine.connect() as conn:
        assert conn.execute(select(device_owners.c.agent_id)).scalar_one() == owner
    assert _moves(engine) == []
