"""Per-second rates of counters (interface errors) for threshold rules with ``rate: true``.

An SNMP counter such as ``if_in_errors_total`` only means something as an increase over time.
Rates are taken between consecutive measured-at times of the same series (agent time, so replayed
reports after an outage give the same answer as live ones); the last point and rate of every
series are kept in ``alert_rule_state.history`` between batches. A counter that went down was
reset (device reboot, 32-bit wrap): that interval says nothing and is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# One stored entry per series: [stamp, series, counter value, last rate per second or None].
Stored = list[Any]


@dataclass(slots=True)
class RateOutcome:
    """Where the rule stands after the new points: state to store and what to tell."""

    history: list[Stored]
    # Start of the current run of breaking evaluations (None: not breaking at the newest point).
    pending_since: datetime | None
    # Measured-at time of the first evaluation that no longer broke the threshold, if any.
    cleared_at: datetime | None
    # The breaking series' rates at the newest point, for the ticket's evidence.
    breaking: dict[str, float] = field(default_factory=dict)


def evaluate_rates(
    history: Sequence[Stored],
    points: Sequence[tuple[datetime, str, float]],
    breaks: Callable[[float], bool],
    pending_since: datetime | None,
) -> RateOutcome:
    """Fold new counter points into the stored series and re-evaluate the threshold.

    The device breaks the rule at a time when any of its series' latest rate does; a report
    carries all series at one time, so points are evaluated per measured-at time.
    """
    series: dict[str, Stored] = {str(entry[1]): list(entry) for entry in history}
    cleared_at: datetime | None = None
    by_time: dict[datetime, list[tuple[str, float]]] = {}
    for at, name, value in points:
        by_time.setdefault(at, []).append((name, value))
    for at in sorted(by_time):
        stamp = at.timestamp()
        moved = False
        for name, value in by_time[at]:
            last = series.get(name)
            if last is None:
                series[name] = [stamp, name, value, None]
                continue
            if stamp <= last[0]:
                continue  # older than what is stored: a replay already accounted for
            elapsed = stamp - last[0]
            rate = (value - last[2]) / elapsed if value >= last[2] else None
            series[name] = [stamp, name, value, rate]
            moved = True
        if not moved:
            continue
        breaking = any(entry[3] is not None and breaks(entry[3]) for entry in series.values())
        if breaking and pending_since is None:
            pending_since = at
        elif not breaking and pending_since is not None:
            pending_since = None
            cleared_at = at
    now_breaking = {
        name: round(entry[3], 3)
        for name, entry in sorted(series.items())
        if entry[3] is not None and breaks(entry[3])
    }
    return RateOutcome(
        history=[series[name] for name in sorted(series)],
        pending_since=pending_since,
        cleared_at=cleared_at if pending_since is None else None,
        breaking=now_breaking,
    )
