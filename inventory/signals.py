"""Measured signals of registered assets, read from the state store for the priority score.

Only what the store holds today is used: the failures term counts the *critical* events of the
device an asset was reconciled with, over the 12 months before ``now``. A fault that repeats all
day (a printer jam re-raised at every poll) is one failure: events count once per type and day.
Saturation terms need a year of rollups (p95 memory, CPU, print volume) that the time-series sink
keeps; until those are read here, those terms stay empty and the score says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from collector.schema import events
from inventory.priority import AssetSignals
from inventory.reconcile import Match
from inventory.store import VIETNAM

FAILURE_SEVERITIES = ("critical",)
WINDOW = timedelta(days=365)


def failure_counts(engine: Engine, matches: Iterable[Match], now: datetime) -> dict[str, int]:
    """Asset tag → distinct (event type, local day) critical events in the last 12 months."""
    tag_of = {(m.device.commune_code, m.device.device_id): m.asset.asset_tag for m in matches}
    if not tag_of:
        return {}
    since = now - WINDOW
    query = select(
        events.c.commune_code, events.c.device_id, events.c.type, events.c.measured_at
    ).where(
        events.c.measured_at >= since,
        events.c.measured_at <= now,
        events.c.severity.in_(FAILURE_SEVERITIES),
        events.c.device_id.in_({device_id for _, device_id in tag_of}),
    )
    distinct: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with engine.connect() as conn:
        for row in conn.execute(query):
            tag = tag_of.get((row.commune_code, row.device_id))
            if tag is not None:
                day = row.measured_at.astimezone(VIETNAM).date().isoformat()
                distinct[tag].add((row.type, day))
    return {tag: len(days) for tag, days in distinct.items()}


def measured_signals(
    engine: Engine, matches: Iterable[Match], now: datetime
) -> dict[str, AssetSignals]:
    """Signals per asset tag for the assets the reconciliation recognised."""
    return {
        tag: AssetSignals(failures_12m=count)
        for tag, count in failure_counts(engine, list(matches), now).items()
    }
