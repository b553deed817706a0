"""The measured signals of registered assets, read from the daily rollups (``inventory.rollups``).

The same signals as ``inventory.signals`` computes from the journal, and to the same rules:

* failures: the distinct critical event types of each day over the 12 months before ``now``
  (days from the Vietnam day of ``now`` − 365 days), plus each alert incident of the device that
  started in those 12 months, unless an event of the same signal was counted on the day it
  started (the same fault);
* saturation over the last ``saturation_days`` Vietnam days, today included: p95 of every CPU and
  memory sample (to the whole percent: the rollups count samples per percent), the fullest
  volume and the SMART warnings of the newest report carrying them.

Reading a month of a province is some 100,000 small rows: the histograms are summed by numpy in
one pass, not per row in Python.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from agent.vntime import local_date
from alerts.schema import incidents
from inventory.priority import AssetSignals
from inventory.reconcile import Match
from inventory.rollups import BUCKETS
from inventory.schema import inventory_rollups
from inventory.signals import WINDOW

DeviceKey = tuple[str, str]  # (commune code, device id)
# The stored (bucket, count) pairs, packed: inventory.rollups.encode_histogram.
_PAIRS = np.dtype([("bucket", "<u1"), ("count", "<u4")])


@dataclass(frozen=True)
class RollupSignals:
    """Signals per asset tag, and the first day of the saturation window holding rollups."""

    signals: dict[str, AssetSignals]
    since: date | None


def has_rollups(conn: Connection) -> bool:
    """Whether the store holds any rollup (else the ranking falls back to the journal)."""
    return conn.execute(select(inventory_rollups.c.day).limit(1)).first() is not None


def saturation_days_range(now: datetime, days: float) -> tuple[date, date]:
    """The first and last Vietnam day of a saturation window of ``days`` days ending ``now``."""
    last = local_date(now)
    return last - timedelta(days=max(1, math.ceil(days)) - 1), last


def rollup_signals(
    engine: Engine,
    matches: Iterable[Match],
    now: datetime,
    *,
    saturation_days: float,
    commune_code: str | None = None,
) -> RollupSignals | None:
    """Signals per asset tag for the assets the reconciliation recognised; None when the
    store holds no rollups at all (not upgraded yet, or nothing processed since)."""
    tag_of = {(m.device.commune_code, m.device.device_id): m.asset.asset_tag for m in matches}
    with engine.connect() as conn:
        if not has_rollups(conn):
            return None
        failures = _failures(conn, tag_of, now, commune_code)
        loads, since = _saturation(conn, tag_of, now, saturation_days, commune_code)
    out = {tag: AssetSignals(failures_12m=count) for tag, count in failures.items() if count}
    for tag, load in loads.items():
        out[tag] = load.model_copy(update={"failures_12m": failures.get(tag, 0)})
    return RollupSignals(out, since)


def _in_commune(query: Any, commune_code: str | None) -> Any:
    if commune_code is None:
        return query
    return query.where(inventory_rollups.c.commune_code == commune_code)


def _failures(
    conn: Connection, tag_of: dict[DeviceKey, str], now: datetime, commune_code: str | None
) -> dict[str, int]:
    """Asset tag → failures in the 12 months before ``now``."""
    since = now - WINDOW
    rows = conn.execute(
        _in_commune(
            select(
                inventory_rollups.c.commune_code,
                inventory_rollups.c.device_id,
                inventory_rollups.c.day,
                inventory_rollups.c.failure_types,
            ).where(
                inventory_rollups.c.failures > 0,
                inventory_rollups.c.day >= local_date(since),
                inventory_rollups.c.day <= local_date(now),
            ),
            commune_code,
        )
    )
    types_of: dict[str, dict[date, set[str]]] = defaultdict(dict)
    for row in rows:
        tag = tag_of.get((row.commune_code, row.device_id))
        if tag is not None:
            types_of[tag][row.day] = set(json.loads(row.failure_types))
    counts = {tag: sum(len(types) for types in days.values()) for tag, days in types_of.items()}
    query = select(
        incidents.c.commune_code, incidents.c.device_id, incidents.c.signal, incidents.c.started_at
    ).where(
        incidents.c.started_at >= since,
        incidents.c.started_at <= now,
        incidents.c.device_id.is_not(None),
    )
    if commune_code is not None:
        query = query.where(incidents.c.commune_code == commune_code)
    for incident in conn.execute(query):
        tag = tag_of.get((incident.commune_code, incident.device_id))
        if tag is None:
            continue
        if incident.signal in types_of[tag].get(local_date(incident.started_at), ()):
            continue  # the incident of a critical event counted that day: one fault
        counts[tag] = counts.get(tag, 0) + 1
    return counts


def _saturation(
    conn: Connection,
    tag_of: dict[DeviceKey, str],
    now: datetime,
    days: float,
    commune_code: str | None,
) -> tuple[dict[str, AssetSignals], date | None]:
    """Asset tag → its saturation signals (failures left at 0), and the window's first day
    holding rollups."""
    first, last = saturation_days_range(now, days)
    in_window = (inventory_rollups.c.day >= first, inventory_rollups.c.day <= last)
    since = conn.execute(
        _in_commune(select(func.min(inventory_rollups.c.day)).where(*in_window), commune_code)
    ).scalar_one_or_none()
    rows = conn.execute(
        _in_commune(
            select(
                inventory_rollups.c.commune_code,
                inventory_rollups.c.device_id,
                inventory_rollups.c.cpu_hist,
                inventory_rollups.c.memory_hist,
                inventory_rollups.c.disk_used_percent,
                inventory_rollups.c.disk_epoch,
                inventory_rollups.c.smart_warnings,
                inventory_rollups.c.smart_epoch,
            ).where(*in_window),
            commune_code,
        )
    )
    tags: list[str] = []
    index_of: dict[str, int] = {}
    cpu, memory = _Histograms(), _Histograms()
    disk: dict[int, tuple[float, float]] = {}
    smart: dict[int, tuple[float, int]] = {}
    for code, device_id, cpu_hist, memory_hist, used, used_at, warnings, warned_at in rows:
        tag = tag_of.get((code, device_id))
        if tag is None:
            continue
        index = index_of.get(tag)
        if index is None:
            index = index_of[tag] = len(tags)
            tags.append(tag)
        cpu.add(index, cpu_hist)
        memory.add(index, memory_hist)
        if used is not None and (index not in disk or used_at >= disk[index][0]):
            disk[index] = (used_at, used)
        if warnings is not None and (index not in smart or warned_at >= smart[index][0]):
            smart[index] = (warned_at, warnings)
    cpu_p95, memory_p95 = cpu.p95(len(tags)), memory.p95(len(tags))
    out: dict[str, AssetSignals] = {}
    for index, tag in enumerate(tags):
        out[tag] = AssetSignals(
            p95_memory_percent=memory_p95[index],
            p95_cpu_percent=cpu_p95[index],
            disk_used_percent=min(100.0, max(0.0, disk[index][1])) if index in disk else None,
            smart_warnings=smart[index][1] if index in smart else None,
        )
    return out, since


class _Histograms:
    """The stored histograms of many rows, each belonging to one device (by index)."""

    def __init__(self) -> None:
        self.blobs: list[bytes] = []
        self.owners: list[int] = []

    def add(self, owner: int, blob: bytes | None) -> None:
        if blob:
            self.blobs.append(bytes(blob))
            self.owners.append(owner)

    def p95(self, devices: int) -> list[float | None]:
        """Per device, the 95th percentile of its samples as ``inventory.signals`` takes it
        (the ⌈0.95·n⌉-th smallest), or None without samples."""
        if not self.blobs or devices == 0:
            return [None] * devices
        pairs = np.frombuffer(b"".join(self.blobs), dtype=_PAIRS)
        lengths = np.fromiter((len(blob) // _PAIRS.itemsize for blob in self.blobs), np.int64)
        owner = np.repeat(np.asarray(self.owners, dtype=np.int64), lengths)
        counts = np.bincount(
            owner * BUCKETS + pairs["bucket"].astype(np.int64),
            weights=pairs["count"].astype(np.float64),
            minlength=devices * BUCKETS,
        ).reshape(devices, BUCKETS)
        cumulative = np.cumsum(counts, axis=1)
        totals = cumulative[:, -1]
        rank = np.maximum(1.0, np.ceil(0.95 * totals))
        buckets = (cumulative < rank[:, None]).sum(axis=1)
        return [
            float(bucket) if total > 0 else None
            for bucket, total in zip(buckets.tolist(), totals.tolist(), strict=True)
        ]
