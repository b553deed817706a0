"""Measured signals of registered assets, read from the state store for the priority score.

Only what the store holds is used, for the device each asset was reconciled with:

* failures: the device's *critical* events and its alert incidents over the 12 months before
  ``now``. A fault that repeats all day (a printer jam re-raised at every poll) is one failure:
  events count once per type and local day. An incident is one root cause however long it
  lasted; when an incident and a critical event of the same signal start the same local day they
  are the same fault and count once.
* saturation: p95 memory and CPU, the fullest disk and the disks with SMART warnings, from the
  reports in the journal. The journal keeps only ``journal_retention_days`` (7 by default), so
  this is the last week, not a year. Like ``web/history.py``, reports are sampled evenly by
  sequence number (about ``REPORTS_PER_AGENT`` per agent). Printers' page volume is not derived
  here (no duty-cycle counter in the reports yet).

This scan is the fallback and the reference (issue 22): the ranking and the plan read the same
signals from the daily rollups (``inventory.rollups``, ``inventory.rollup_reader``), which the
processor keeps for a year; a scan of a province's journal took 8–26 s per request.
* the operating system (issue 23): the reconciled PC's facts (``os_name``, ``os_version``)
  against ``os_support.yaml``, for the ``unsupported_os`` term.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from agent.vntime import local_date
from alerts.schema import incidents
from collector.journal import sampled_reports
from collector.schema import device_state, events
from inventory.os_support import OsSupportTable, os_status
from inventory.priority import AssetSignals
from inventory.reconcile import Match

FAILURE_SEVERITIES = ("critical",)
WINDOW = timedelta(days=365)
DEFAULT_JOURNAL_DAYS = 7.0  # the collector's default journal_retention_days
REPORTS_PER_AGENT = 100  # p95 is then the 95th of ~100: enough to rank, cheap to read
# SMART counters where anything above zero means a disk on its way out.
SMART_BAD_COUNTERS = frozenset(
    {
        "smart_reallocated_sectors",
        "smart_pending_sectors",
        "smart_offline_uncorrectable_sectors",
        "smart_media_errors",
    }
)

DeviceKey = tuple[str, str]  # (commune code, device id)


def _local_day(at: datetime) -> str:
    return local_date(at).isoformat()


def failure_counts(engine: Engine, matches: Iterable[Match], now: datetime) -> dict[str, int]:
    """Asset tag → distinct failures in the last 12 months: critical events once per (type,
    local day), incidents once each, an incident and an event of one signal on one day once."""
    tag_of = {(m.device.commune_code, m.device.device_id): m.asset.asset_tag for m in matches}
    if not tag_of:
        return {}
    since = now - WINDOW
    device_ids = {device_id for _, device_id in tag_of}
    event_query = select(
        events.c.commune_code, events.c.device_id, events.c.type, events.c.measured_at
    ).where(
        events.c.measured_at >= since,
        events.c.measured_at <= now,
        events.c.severity.in_(FAILURE_SEVERITIES),
        events.c.device_id.in_(device_ids),
    )
    incident_query = select(
        incidents.c.id,
        incidents.c.commune_code,
        incidents.c.device_id,
        incidents.c.signal,
        incidents.c.started_at,
    ).where(
        incidents.c.started_at >= since,
        incidents.c.started_at <= now,
        incidents.c.device_id.in_(device_ids),
    )
    distinct: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with engine.connect() as conn:
        for row in conn.execute(event_query):
            tag = tag_of.get((row.commune_code, row.device_id))
            if tag is not None:
                distinct[tag].add((row.type, _local_day(row.measured_at)))
        for incident in conn.execute(incident_query):
            tag = tag_of.get((incident.commune_code, incident.device_id))
            if tag is None:
                continue
            same_event = (incident.signal, _local_day(incident.started_at))
            if same_event not in distinct[tag]:
                # Keyed by incident id so two incidents of one signal on one day both count.
                distinct[tag].add((f"incident:{incident.id}", same_event[1]))
    return {tag: len(found) for tag, found in distinct.items() if found}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class _Load:
    """What the sampled reports of one device showed."""

    memory: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    # From the newest report read: the fullest volume now, and the disks warning now.
    latest_at: datetime | None = None
    disk: float | None = None
    smart_disks: set[str] | None = None

    def add(self, at: datetime, samples: Iterable[dict[str, Any]]) -> None:
        disk: float | None = None
        smart: set[str] | None = None
        for sample in samples:
            name, value = sample["name"], float(sample["value"])
            if name == "memory_used_percent":
                self.memory.append(value)
            elif name == "cpu_percent":
                self.cpu.append(value)
            elif name == "disk_used_percent":
                disk = value if disk is None else max(disk, value)
            elif name == "smart_healthy" or name in SMART_BAD_COUNTERS:
                smart = smart if smart is not None else set()
                bad = value < 1 if name == "smart_healthy" else value > 0
                if bad:
                    smart.add(str((sample.get("labels") or {}).get("disk", "")))
        if self.latest_at is None or at >= self.latest_at:
            self.latest_at = at
            if disk is not None:
                self.disk = disk
            if smart is not None:
                self.smart_disks = smart

    def signals(self, failures: int) -> AssetSignals:
        return AssetSignals(
            failures_12m=failures,
            p95_memory_percent=min(100.0, _p95(self.memory)) if self.memory else None,
            p95_cpu_percent=min(100.0, _p95(self.cpu)) if self.cpu else None,
            disk_used_percent=min(100.0, self.disk) if self.disk is not None else None,
            smart_warnings=len(self.smart_disks) if self.smart_disks is not None else None,
        )


def measured_load(
    engine: Engine, keys: Iterable[DeviceKey], now: datetime, days: float
) -> dict[DeviceKey, _Load]:
    """Per device, its samples from an even sample of its agent's reports of the last ``days``."""
    wanted = set(keys)
    if not wanted:
        return {}
    start = now - timedelta(days=days)
    loads: dict[DeviceKey, _Load] = {}
    with engine.connect() as conn:
        owners: dict[str, dict[str, DeviceKey]] = defaultdict(dict)
        rows = conn.execute(
            select(
                device_state.c.commune_code, device_state.c.device_id, device_state.c.agent_id
            ).where(device_state.c.device_id.in_({device_id for _, device_id in wanted}))
        )
        for code, device_id, agent_id in rows:
            if (code, device_id) in wanted and agent_id is not None:
                owners[agent_id][device_id] = (code, device_id)
        for agent_id, devices in owners.items():
            sample = sampled_reports(conn, agent_id, start, now, REPORTS_PER_AGENT)
            for measured_at, report in sample:
                for device in report.get("devices", ()):
                    key = devices.get(device.get("device_id"))
                    if key is not None:
                        loads.setdefault(key, _Load()).add(measured_at, device.get("samples", ()))
    return loads


def measured_signals(
    engine: Engine,
    matches: Iterable[Match],
    now: datetime,
    journal_days: float = DEFAULT_JOURNAL_DAYS,
    os_support: OsSupportTable | None = None,
) -> dict[str, AssetSignals]:
    """Signals per asset tag for the assets the reconciliation recognised (with
    ``os_support``, their operating system's end of support too)."""
    matched = list(matches)
    failures = failure_counts(engine, matched, now)
    tag_of = {(m.device.commune_code, m.device.device_id): m.asset.asset_tag for m in matched}
    loads = measured_load(engine, tag_of, now, journal_days)
    out = {tag: AssetSignals(failures_12m=count) for tag, count in failures.items()}
    for key, load in loads.items():
        tag = tag_of[key]
        out[tag] = load.signals(failures.get(tag, 0))
    if os_support is not None:
        add_os_status(out, matched, os_support)
    return out


def add_os_status(
    signals: dict[str, AssetSignals], matches: Iterable[Match], os_support: OsSupportTable
) -> None:
    """Add each recognised PC's operating system and its end of support to ``signals``."""
    for match in matches:
        status = os_status(match.device.facts, os_support)
        if status is None:
            continue
        tag = match.asset.asset_tag
        signals[tag] = signals.get(tag, AssetSignals()).model_copy(
            update={"os_label": status.label[:100], "os_end_of_support": status.end_of_support}
        )
