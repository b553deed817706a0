"""One processing step's merge of journal entries: per device, the newest value of each sample
name; the events' rows; each agent's newest goodbye and boot time.

Works on the decoded JSON (validated at ingest) rather than typed models: this runs for every
report the province sends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, select, update

from collector.schema import agents


class JournalEntry(Protocol):
    """What the merge reads of a journal entry (collector.processor.StoredReport)."""

    @property
    def journal_id(self) -> int: ...
    @property
    def agent_id(self) -> str: ...
    @property
    def commune_code(self) -> str: ...
    @property
    def measured_at(self) -> datetime: ...
    @property
    def data(self) -> dict[str, Any]: ...


class DeviceMerge:
    """Current state of one device, merged from several reports.

    Several checks report the same device (``host`` every 15 s, ``local_service`` every 60 s on
    the same PC): a report is authoritative for the sample names it carries and leaves the
    others alone, and each name keeps the time it was measured so that a replayed older report
    never overwrites newer values.
    """

    def __init__(self, agent_id: str, kind: str) -> None:
        self.agent_id = agent_id
        self.kind = kind
        self.measured = 0.0
        # When the first report merged (in journal order) was measured: a new device's
        # first_seen_at, whether its first batch holds one report or a month of back-fill.
        self.first: float | None = None
        # name -> (measured, the sample dicts of that name in the newest report carrying it).
        # The dicts are kept as decoded and turned into rows only for the winners (row()): in a
        # back-fill batch nearly every sample is superseded by a newer one of the same device.
        self.families: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self.facts: dict[str, tuple[float, str]] = {}

    def add(self, measured: float, device: dict[str, Any], agent_id: str) -> None:
        """Merge one report's view of the device, measured at ``measured`` (epoch seconds)."""
        if self.first is None:
            self.first = measured
        by_name: dict[str, list[dict[str, Any]]] = {}
        # The hottest loop of processing (every sample of the province): plain dict operations.
        for sample in device["samples"]:
            name = sample["name"]
            family = by_name.get(name)
            if family is None:
                by_name[name] = [sample]
            else:
                family.append(sample)
        families = self.families
        for name, samples in by_name.items():
            current = families.get(name)
            if current is None or current[0] <= measured:
                families[name] = (measured, samples)
        facts = device.get("facts")
        if facts:
            for fact, value in facts.items():
                if fact not in self.facts or self.facts[fact][0] <= measured:
                    self.facts[fact] = (measured, value)
        if measured >= self.measured:
            self.measured = measured
            self.agent_id = agent_id
            self.kind = device["kind"]

    def row(self, commune_code: str, device_id: str, before: Any) -> dict[str, object]:
        """The device_state row after merging onto ``before`` (the stored row, or None)."""
        first_seen = datetime.fromtimestamp(
            self.measured if self.first is None else self.first, UTC
        )
        mine = self.families
        rows: list[list[Any]] = []
        if before is not None:
            first_seen = before.first_seen_at
            previous: dict[str, list[list[Any]]] = {}
            for sample in orjson.loads(before.samples):
                previous.setdefault(sample[0], []).append(sample)
            # The stored names first, in their order, each replaced by this batch's if it is at
            # least as new; then the names the store did not have.
            for name, stored in previous.items():
                current = mine.get(name)
                stored_at = stored[0][3] if len(stored[0]) > 3 else 0.0
                if current is not None and stored_at <= current[0]:
                    rows.extend(_sample_rows(current))
                else:
                    rows.extend(stored)
            for name, current in mine.items():
                if name not in previous:
                    rows.extend(_sample_rows(current))
            old_facts = orjson.loads(before.facts)
            before_ts = before.measured_at.timestamp()
            for fact, value in old_facts.items():
                if fact not in self.facts:
                    self.facts[fact] = (before_ts, value)
            if before_ts > self.measured:
                self.measured = before_ts
        else:
            for current in mine.values():
                rows.extend(_sample_rows(current))
        return {
            "commune_code": commune_code,
            "device_id": device_id,
            "agent_id": self.agent_id,
            "kind": self.kind,
            "first_seen_at": first_seen,
            "measured_at": datetime.fromtimestamp(self.measured, UTC),
            "samples": orjson.dumps(rows).decode(),
            "facts": orjson.dumps({k: v for k, (_, v) in self.facts.items()}).decode(),
        }


def _sample_rows(family: tuple[float, list[dict[str, Any]]]) -> list[list[Any]]:
    """device_state's [name, labels, value, measured at] rows of one merged family."""
    measured, samples = family
    return [[s["name"], s.get("labels", {}), s["value"], measured] for s in samples]


# The agent's own lifecycle events (agent/self_report.py): a clean stop says goodbye, a start
# tells when its computer booted. The agents table keeps the newest of each.
GOODBYE_EVENT = "agent_stopping"
STARTED_EVENT = "agent_started"


@dataclass
class AgentMarks:
    """The newest goodbye and boot time one agent reported in a batch."""

    goodbye_at: datetime | None = None
    goodbye_reason: str = ""
    booted_at: datetime | None = None

    def add(self, event: dict[str, Any], measured_at: datetime) -> None:
        attrs = event.get("attrs") or {}
        if event["type"] == GOODBYE_EVENT:
            if self.goodbye_at is None or measured_at > self.goodbye_at:
                self.goodbye_at = measured_at
                self.goodbye_reason = str(attrs.get("reason", ""))[:30]
            return
        booted = _booted_at(attrs, measured_at)
        if booted is not None and (self.booted_at is None or booted > self.booted_at):
            self.booted_at = booted


def _booted_at(attrs: dict[str, Any], measured_at: datetime) -> datetime | None:
    """The boot time an ``agent_started`` event gives (its boot_time, else its uptime)."""
    with contextlib.suppress(TypeError, ValueError, OverflowError):
        boot = datetime.fromisoformat(str(attrs["boot_time"]))
        if boot.tzinfo is not None:
            return boot.astimezone(UTC)
    with contextlib.suppress(KeyError, TypeError, ValueError, OverflowError):
        return measured_at - timedelta(seconds=float(attrs["uptime_seconds"]))
    return None


def merge_entries(
    stored: Sequence[JournalEntry],
) -> tuple[dict[tuple[str, str], DeviceMerge], list[dict[str, object]], dict[str, AgentMarks]]:
    """Each device's state merged over the entries, the rows of their events, and each agent's
    goodbye and boot time."""
    merged: dict[tuple[str, str], DeviceMerge] = {}
    event_rows: list[dict[str, object]] = []
    marks: dict[str, AgentMarks] = {}
    # Works on the decoded JSON (validated at ingest) rather than typed models: this loop
    # runs for every report the province sends.
    for item in stored:
        measured = item.measured_at.timestamp()
        for device in item.data["devices"]:
            device_id = device["device_id"]
            key = (item.commune_code, device_id)
            state = merged.get(key)
            if state is None:
                state = merged[key] = DeviceMerge(item.agent_id, device["kind"])
            state.add(measured, device, item.agent_id)
            for ev in device.get("events", ()):
                if ev["type"] in (GOODBYE_EVENT, STARTED_EVENT):
                    marks.setdefault(item.agent_id, AgentMarks()).add(ev, item.measured_at)
                event_rows.append(
                    {
                        "commune_code": item.commune_code,
                        "device_id": device_id,
                        "agent_id": item.agent_id,
                        "type": ev["type"],
                        "severity": ev.get("severity", "info"),
                        "message": ev.get("message", ""),
                        "attrs": orjson.dumps(ev.get("attrs", {})).decode(),
                        "measured_at": item.measured_at,
                        "journal_id": item.journal_id,
                    }
                )
    return merged, event_rows, marks


def mark_agent(conn: Connection, agent_id: str, marks: AgentMarks) -> None:
    """Keep the newest goodbye and boot time of an agent (a replay may bring older ones)."""
    row = conn.execute(
        select(agents.c.goodbye_at, agents.c.booted_at).where(agents.c.id == agent_id)
    ).first()
    if row is None:
        return
    values: dict[str, Any] = {}
    if marks.goodbye_at is not None and (
        row.goodbye_at is None or marks.goodbye_at > row.goodbye_at
    ):
        values.update(goodbye_at=marks.goodbye_at, goodbye_reason=marks.goodbye_reason)
    if marks.booted_at is not None and (row.booted_at is None or marks.booted_at > row.booted_at):
        values["booted_at"] = marks.booted_at
    if values:
        conn.execute(update(agents).where(agents.c.id == agent_id).values(**values))
