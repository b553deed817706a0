"""Budgets of devices and series per agent and per commune, and the owner of every device.

One agent's token must not be able to grow the province's state without bound: 500 devices x
2,000 samples with a fresh label value each made ``/metrics`` 1.2 million lines and the collector
1.3 GB (issue 20). The journal writer admits each batch here, inside its transaction: a report
that would take its agent or commune past a budget (``settings.budgets``), or that names a device
another agent owns, is refused with the budget or the device named, and nothing of its batch is
stored. The error lists every refused report's sequence so that the agent sets those aside and
sends the rest (``agent/sender.py``); the refusal is counted on ``/metrics`` and kept on the
agent's row (``GET /api/v1/agents/{id}``, ``commune-monitor agents show``).

What is counted is what the device state (and so ``/metrics``) would hold: per device, the
sample names it reported and, per name, the most series (label sets) a report carried. The
ledger is this process's memory of it, seeded per commune from ``device_owners`` and
``device_state`` on first use, grown by every admitted batch, and read again when an admin moves
a device (``agents.devices_version``) or a commit fails. Its size is bounded by the budgets.
With several worker processes each keeps its own ledger, so a commune's series can reach the
budget once per process before every process has seen the others' state (after processing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import Connection, Engine, select

from collector.decode import PreparedReport
from collector.errors import ReportRejected
from collector.schema import agents, device_owners, device_state
from collector.settings_sections import BudgetSettings

DEVICE_OWNER = "device_owner"


class ReportsRefused(ReportRejected):
    """Reports refused for good: past a budget (422) or naming another agent's device (409).

    ``budget`` names the budget (``budgets.series_per_agent``) or ``device_owner``; ``refused``
    holds the sequence numbers of every refused report of the batch. Nothing of the batch is
    stored; the other reports are accepted when sent again without the refused ones.
    """

    def __init__(
        self, message: str, *, field: str, status: int, budget: str, refused: tuple[int, ...]
    ) -> None:
        super().__init__(message, field=field, status=status)
        self.budget = budget
        self.refused = refused


@dataclass
class _AgentUse:
    """One agent's devices, with the series of each sample name per device."""

    version: int
    devices: dict[str, dict[str, int]] = field(default_factory=dict)
    per_name: dict[str, int] = field(default_factory=dict)
    series: int = 0

    def add(self, device_id: str, name: str, series: int) -> int:
        """Raise ``device_id``'s count of ``name`` to ``series``; returns the growth."""
        names = self.devices.setdefault(device_id, {})
        if not name:
            return 0
        grown = max(0, series - names.get(name, 0))
        if grown:
            names[name] = series
            self.per_name[name] = self.per_name.get(name, 0) + grown
            self.series += grown
        return grown


@dataclass
class _CommuneUse:
    """Every device of one commune with its owner, and each owning agent's use."""

    code: str
    owners: dict[str, str]
    agents: dict[str, _AgentUse]

    @property
    def series(self) -> int:
        return sum(use.series for use in self.agents.values())


@dataclass
class _Pending:
    """What the reports admitted so far from one batch add (applied only if none is refused)."""

    devices: set[str] = field(default_factory=set)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    per_name: Counter[str] = field(default_factory=Counter)
    series: int = 0

    def merge(self, other: _Pending) -> None:
        self.devices |= other.devices
        self.counts.update(other.counts)
        self.per_name.update(other.per_name)
        self.series += other.series


@dataclass(frozen=True)
class Usage:
    """How much of its budgets an agent uses, as the store holds it."""

    devices: int
    sample_names: int
    series: int
    largest_name: tuple[str, int] | None


def load_commune(conn: Connection, commune_code: str) -> _CommuneUse:
    """A commune's devices, owners and series as the store holds them."""
    owners: dict[str, str] = {
        device_id: agent_id
        for device_id, agent_id in conn.execute(
            select(device_owners.c.device_id, device_owners.c.agent_id).where(
                device_owners.c.commune_code == commune_code
            )
        )
    }
    uses = {
        agent_id: _AgentUse(int(version))
        for agent_id, version in conn.execute(
            select(agents.c.id, agents.c.devices_version).where(
                agents.c.commune_code == commune_code
            )
        )
    }
    rows = conn.execute(
        select(device_state.c.device_id, device_state.c.agent_id, device_state.c.samples).where(
            device_state.c.commune_code == commune_code
        )
    )
    for device_id, agent_id, samples in rows:
        owner = owners.setdefault(device_id, agent_id)
        use = uses.setdefault(owner, _AgentUse(0))
        for name, series in Counter(row[0] for row in orjson.loads(samples)).items():
            use.add(device_id, name, series)
    for device_id, owner in owners.items():
        uses.setdefault(owner, _AgentUse(0)).devices.setdefault(device_id, {})
    return _CommuneUse(commune_code, owners, uses)


def agent_usage(engine: Engine, agent_id: str, commune_code: str) -> Usage:
    """The agent's use of its budgets in the store (for its page and ``agents show``)."""
    with engine.connect() as conn:
        use = load_commune(conn, commune_code).agents.get(agent_id, _AgentUse(0))
    largest = max(use.per_name.items(), key=lambda item: item[1], default=None)
    return Usage(len(use.devices), len(use.per_name), use.series, largest)


class BudgetLedger:
    """Admits batches against the budgets and device owners; see the module's docstring."""

    def __init__(self, budgets: BudgetSettings) -> None:
        self._budgets = budgets
        self._communes: dict[str, _CommuneUse] = {}

    def forget(self, commune_code: str | None = None) -> None:
        """Drop what is held of one commune, or of all (a commit failed: what it claimed was
        never stored); it is read from the store again when next needed."""
        if commune_code is None:
            self._communes.clear()
        else:
            self._communes.pop(commune_code, None)

    def _commune(
        self, conn: Connection, commune_code: str, agent_id: str, version: int
    ) -> _CommuneUse:
        use = self._communes.get(commune_code)
        known = use.agents.get(agent_id) if use is not None else None
        if use is None or (known is not None and known.version != version):
            # First use, or an admin moved a device of this agent: read the commune again.
            use = self._communes[commune_code] = load_commune(conn, commune_code)
        use.agents.setdefault(agent_id, _AgentUse(version)).version = version
        return use

    def admit(
        self,
        conn: Connection,
        agent_id: str,
        commune_code: str,
        version: int,
        reports: Iterable[tuple[int, PreparedReport]],
    ) -> list[str]:
        """Admit the new reports of one batch (with their index in it), or raise
        :class:`ReportsRefused` naming the first refused one; returns the devices to claim."""
        use = self._commune(conn, commune_code, agent_id, version)
        mine = use.agents[agent_id]
        batch = _Pending()
        refused: list[tuple[int, int, str, str, int]] = []
        problem: tuple[str, str, int] | None = None
        for index, report in reports:
            # A report carrying what the previous one carried adds nothing, or is refused alike.
            if not report.same_growth:
                pending, problem = self._report(use, agent_id, mine, batch, report)
                if problem is None:
                    batch.merge(pending)
            if problem is not None:
                refused.append((index, report.seq, *problem))
        if refused:
            raise _refusal(agent_id, refused)
        for device_id in batch.devices:
            use.owners[device_id] = agent_id
            mine.devices.setdefault(device_id, {})
        for (device_id, name), series in batch.counts.items():
            mine.add(device_id, name, series)
        return sorted(batch.devices)

    def _report(
        self,
        use: _CommuneUse,
        agent_id: str,
        mine: _AgentUse,
        batch: _Pending,
        report: PreparedReport,
    ) -> tuple[_Pending, tuple[str, str, int] | None]:
        """What one report adds, and the budget it breaks (name, message, status) if any."""
        pending = _Pending()
        for device_id, name, series in report.growth:
            if not name:
                owner = use.owners.get(device_id)
                if owner is None and device_id not in batch.devices:
                    pending.devices.add(device_id)
                elif owner is not None and owner != agent_id:
                    return pending, (
                        DEVICE_OWNER,
                        f"device {device_id!r} of commune {use.code} belongs to agent {owner!r}; "
                        "an admin hands it over with 'commune-monitor agents move-device "
                        f"{use.code} {device_id} --to {agent_id}'",
                        409,
                    )
                continue
            key = (device_id, name)
            current = pending.counts.get(
                key, batch.counts.get(key, mine.devices.get(device_id, {}).get(name, 0))
            )
            if series > current:
                pending.counts[key] = series
                pending.per_name[name] += series - current
                pending.series += series - current
        return pending, self._over(use, mine, batch, pending)

    def _over(
        self, use: _CommuneUse, mine: _AgentUse, batch: _Pending, pending: _Pending
    ) -> tuple[str, str, int] | None:
        budgets = self._budgets
        new_devices = len(batch.devices) + len(pending.devices)
        names = set(mine.per_name) | set(batch.per_name) | set(pending.per_name)
        checks: list[tuple[str, int, int, str]] = [
            (
                "devices_per_agent",
                len(mine.devices) + new_devices,
                budgets.devices_per_agent,
                "the agent",
            ),
            (
                "devices_per_commune",
                len(use.owners) + new_devices,
                budgets.devices_per_commune,
                "the commune",
            ),
            ("sample_names_per_agent", len(names), budgets.sample_names_per_agent, "the agent"),
            (
                "series_per_agent",
                mine.series + batch.series + pending.series,
                budgets.series_per_agent,
                "the agent",
            ),
            (
                "series_per_commune",
                use.series + batch.series + pending.series,
                budgets.series_per_commune,
                "the commune",
            ),
        ]
        for name in pending.per_name:
            total = mine.per_name.get(name, 0) + batch.per_name[name] + pending.per_name[name]
            checks.append(
                (
                    "series_per_name_per_agent",
                    total,
                    budgets.series_per_name_per_agent,
                    f"sample name {name!r} of the agent",
                )
            )
        for budget, value, limit, whose in checks:
            if value > limit:
                return (
                    f"budgets.{budget}",
                    f"budget budgets.{budget} ({limit}) exceeded: {whose} would have {value}",
                    422,
                )
        return None


def _refusal(agent_id: str, refused: Sequence[tuple[int, int, str, str, int]]) -> ReportsRefused:
    index, _seq, budget, reason, status = refused[0]
    seqs = tuple(seq for _, seq, *_rest in refused)
    field = f"reports.{index}.devices" if budget == DEVICE_OWNER else f"reports.{index}"
    advice = (
        ""
        if budget == DEVICE_OWNER
        else f"; an admin raises it with COMMUNE_MONITOR_{budget.replace('.', '_').upper()}"
    )
    return ReportsRefused(
        f"{field}: {reason} (agent {agent_id}); {len(seqs)} report(s) of this batch refused "
        f"(sequences {', '.join(map(str, seqs[:20]))}{' ...' if len(seqs) > 20 else ''}), "
        f"nothing stored{advice}",
        field=field,
        status=status,
        budget=budget,
        refused=seqs,
    )


def claim_rows(
    commune_code: str, agent_id: str, devices: Sequence[str], now: datetime
) -> list[dict[str, object]]:
    """``device_owners`` rows for devices an agent reports first."""
    return [
        {
            "commune_code": commune_code,
            "device_id": device_id,
            "agent_id": agent_id,
            "claimed_at": now,
        }
        for device_id in devices
    ]
