"""Reports of counter PCs at chosen times through the real ingest path (journal, processor, alert
engine and the rollups' consumer), for the rollup tests: the values of each report are set
before it is sent, so the tests know every sample and recompute the expected figures."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from agent.vntime import local_date
from inventory.models import Asset, AssetKind
from inventory.register_writer import register_to_csv
from inventory.rollups import RollupConsumer
from inventory.schema import inventory_rollups
from inventory.store import import_register
from tests.alerts.support import Agent, World, pc
from tests.fakes import FakeClock

COMMUNE = "13285"  # Phường Châu Sơn, Ninh Bình (the engine fixture's province)
# Wednesday 11 March 2026, 17:00 in Vietnam: the end of every history below.
END = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)


def pc_asset(tag: str, *, put_into_use: date = date(2021, 6, 1)) -> Asset:
    """A counter PC of the register whose tag is the agent's device id (reconciliation matches
    a hostname equal to the asset tag)."""
    return Asset(
        asset_tag=tag,
        kind=AssetKind.PC,
        commune_code=COMMUNE,
        room="Quầy 1",
        put_into_use=put_into_use,
        original_cost=14_000_000,
        serial=f"SN-{tag}",
    )


def p95(values: Sequence[float]) -> float:
    """The ⌈0.95·n⌉-th smallest value: the priority score's p95."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def whole_percent(value: float) -> float:
    """Rounded half up, as an explanation shows it."""
    return float(math.floor(value + 0.5))


class History:
    """PCs of one commune whose reports are sent one at a time at given measured times."""

    def __init__(self, engine: Engine, *, rollups: bool = True, end: datetime = END) -> None:
        self.engine = engine
        self.world = World(engine, clock=FakeClock(end))
        self.rollups = RollupConsumer(engine, self.world.clock) if rollups else None
        if self.rollups is not None:
            self.world.processor.add_consumer(self.rollups)
        self.agents: dict[str, Agent] = {}

    @property
    def now(self) -> datetime:
        """The collector's clock: after every report sent."""
        return self.world.clock.now()

    def register(self, tags: Iterable[str]) -> None:
        """Import a register holding these PCs."""
        assets = [pc_asset(tag) for tag in tags]
        import_register(self.engine, register_to_csv(assets), filename="r.csv", now=self.now)

    def enrol(self, tag: str) -> None:
        """A PC's agent (its probes left out: only the host matters here)."""
        self.agents[tag] = self.world.enrol(COMMUNE, [pc(tag, targets=())])

    def send(
        self,
        tag: str,
        at: datetime,
        *,
        cpu: float = 10.0,
        memory: float = 60.0,
        disk: float = 50.0,
        smart_ok: bool = True,
        events: Sequence[dict[str, Any]] = (),
    ) -> None:
        """One report of PC ``tag`` measured at ``at`` with these values, stored in the journal
        at once (its values are then changed for the next)."""
        agent = self.agents[tag]
        device = agent.devices[0]
        values = {
            "cpu_percent": cpu,
            "memory_used_percent": memory,
            "disk_used_percent": disk,
            "smart_healthy": 1.0 if smart_ok else 0.0,
        }
        device["samples"] = [
            {**s, "value": values.get(s["name"], s["value"])} for s in device["samples"]
        ]
        device["events"] = list(events)
        self.world.measure(agent, at)
        self.world.deliver(agent)

    def process(self) -> int:
        """Run the processor (and its consumers) over everything sent."""
        return self.world.processor.drain()


def rollup_rows(engine: Engine) -> dict[tuple[str, str, date], dict[str, Any]]:
    """Every stored rollup row by (commune, device, day)."""
    with engine.connect() as conn:
        rows = conn.execute(select(inventory_rollups)).mappings().all()
    return {
        (row["commune_code"], row["device_id"], row["day"]): {
            key: (bytes(value) if isinstance(value, memoryview) else value)
            for key, value in row.items()
        }
        for row in rows
    }


def vn_day(at: datetime) -> date:
    """The Vietnam day of ``at``."""
    return local_date(at)
