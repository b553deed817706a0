"""How fast and how busy the machine running a benchmark is, so that figures from different
runs can be compared: CPU per report on a shared VM varied more than threefold between two days
with the same code, and a pure-Python loop's time tracks that.
"""

from __future__ import annotations

import os
import time

CALIBRATION_ITERATIONS = 10_000_000


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared: say how loaded it was)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def python_loop_seconds(iterations: int = CALIBRATION_ITERATIONS) -> float:
    """CPU seconds of an empty Python loop: the interpreter's speed on this machine right now.

    The best of three, in process CPU time, so that a neighbour's burst does not count."""
    best = float("inf")
    for _ in range(3):
        begun = time.process_time()
        for _ in range(iterations):
            pass
        best = min(best, time.process_time() - begun)
    return best
