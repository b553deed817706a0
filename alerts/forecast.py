"""When a supply runs empty: a least-squares line through its level history, not the last value."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta


def days_to_empty(
    history: Sequence[Sequence[float]], *, min_points: int, min_span: timedelta
) -> float | None:
    """Days from the newest point until the fitted level reaches 0, or None without a trend.

    ``history`` holds ``[unix seconds, level percent]`` points, oldest first. None when there are
    too few points, they span too little time, or the level is not falling.
    """
    if len(history) < min_points:
        return None
    xs = [float(point[0]) for point in history]
    ys = [float(point[1]) for point in history]
    if xs[-1] - xs[0] < min_span.total_seconds():
        return None
    n = len(xs)
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    if slope >= 0:
        return None
    # The fitted line at the newest point, then how long until it crosses zero.
    level_now = mean_y + slope * (xs[-1] - mean_x)
    seconds = max(0.0, level_now) / -slope
    return seconds / 86_400
