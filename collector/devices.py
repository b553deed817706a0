"""Who owns a device, and an admin handing it to another agent.

A device id belongs to the first agent that reported it (``device_owners``, claimed by ingest);
another agent's report of it is refused with 409 naming the device (``collector.budgets``). When
a PC is replaced or a site agent moves, an admin hands the device over: its state follows, both
agents' ``devices_version`` is bumped so that every collector process reads their devices again,
and the change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from collector import audit
from collector.errors import Conflict, NotFound
from collector.schema import agents, device_owners, device_state


@dataclass(frozen=True)
class Moved:
    """A device handed over: from which agent to which."""

    commune_code: str
    device_id: str
    from_agent: str
    to_agent: str


def move_device(
    engine: Engine, commune_code: str, device_id: str, to_agent: str, now: datetime, actor: str
) -> Moved:
    """Hand ``device_id`` of ``commune_code`` to ``to_agent`` (an agent of that commune)."""
    with engine.begin() as conn:
        owner = conn.execute(
            select(device_owners.c.agent_id).where(
                device_owners.c.commune_code == commune_code,
                device_owners.c.device_id == device_id,
            )
        ).scalar_one_or_none()
        if owner is None:
            raise NotFound(f"commune {commune_code} has no device {device_id!r}")
        target = conn.execute(
            select(agents.c.commune_code, agents.c.revoked_at).where(agents.c.id == to_agent)
        ).first()
        if target is None:
            raise NotFound(f"no agent {to_agent!r}")
        if target.commune_code != commune_code:
            raise Conflict(
                f"agent {to_agent} belongs to commune {target.commune_code}, not {commune_code}"
            )
        if target.revoked_at is not None:
            raise Conflict(f"agent {to_agent} is revoked")
        if owner == to_agent:
            return Moved(commune_code, device_id, owner, to_agent)
        where = (device_owners.c.commune_code == commune_code) & (
            device_owners.c.device_id == device_id
        )
        conn.execute(update(device_owners).where(where).values(agent_id=to_agent, claimed_at=now))
        conn.execute(
            update(device_state)
            .where(device_state.c.commune_code == commune_code)
            .where(device_state.c.device_id == device_id)
            .values(agent_id=to_agent)
        )
        conn.execute(
            update(agents)
            .where(agents.c.id.in_([owner, to_agent]))
            .values(devices_version=agents.c.devices_version + 1)
        )
        audit.record(
            conn,
            now,
            actor,
            "device_moved",
            f"device:{commune_code}/{device_id}",
            f"from {owner} to {to_agent}",
        )
    return Moved(commune_code, device_id, owner, to_agent)
