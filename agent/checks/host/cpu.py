"""CPU arithmetic of the ``host`` check: counter rates and busy/iowait/steal percentages."""

from __future__ import annotations

from collections.abc import Mapping


def counter_rate(previous: float, current: float, elapsed: float) -> float | None:
    """Per-second rate of an increasing counter; None across a reset or without elapsed time."""
    if elapsed <= 0 or current < previous:
        return None
    return (current - previous) / elapsed


def clamp(value: float, low: float, high: float) -> float:
    """``value`` kept within ``low``..``high``."""
    return min(high, max(low, value))


def cpu_percentages(
    before: Mapping[str, float], after: Mapping[str, float]
) -> dict[str, float] | None:
    """Busy, iowait and steal percentages between two ``cpu_times`` readings (None: no data).

    Same arithmetic as psutil's ``cpu_percent``: Linux counts guest time inside user and nice, so
    it is taken out of the total; idle includes iowait.
    """
    deltas = {key: after[key] - before.get(key, 0.0) for key in after}
    if any(delta < 0 for delta in deltas.values()):
        return None  # CPU went offline/online or counters reset
    total = sum(deltas.values()) - deltas.get("guest", 0.0) - deltas.get("guest_nice", 0.0)
    if total <= 0:
        return None
    idle = deltas.get("idle", 0.0) + deltas.get("iowait", 0.0)
    result = {"busy": clamp(100.0 * (total - idle) / total, 0.0, 100.0)}
    for key in ("iowait", "steal"):
        if key in deltas:
            result[key] = clamp(100.0 * deltas[key] / total, 0.0, 100.0)
    return result
