"""CPU arithmetic: counter rates and psutil's percentages."""

from __future__ import annotations

import pytest

from agent.checks.host import counter_rate, cpu_percentages


def test_counter_rate_handles_resets_and_no_time():
    assert counter_rate(100, 400, 10) == 30
    assert counter_rate(400, 100, 10) is None  # reset
    assert counter_rate(100, 400, 0) is None


def test_cpu_percentages_match_psutil_arithmetic():
    before = {
        "user": 10.0,
        "nice": 0.0,
        "system": 5.0,
        "idle": 80.0,
        "iowait": 5.0,
        "steal": 0.0,
        "guest": 2.0,
        "guest_nice": 0.0,
    }
    after = {
        "user": 30.0,
        "nice": 0.0,
        "system": 15.0,
        "idle": 140.0,
        "iowait": 15.0,
        "steal": 10.0,
        "guest": 12.0,
        "guest_nice": 0.0,
    }
    # deltas: user 20 (10 of it guest), system 10, idle 60, iowait 10, steal 10 → total 110
    result = cpu_percentages(before, after)
    assert result == pytest.approx(
        {"busy": 100 * 40 / 110, "iowait": 100 * 10 / 110, "steal": 100 * 10 / 110}
    )
    assert cpu_percentages(after, before) is None  # went backwards
    assert cpu_percentages(before, before) is None  # no time passed
    windows = cpu_percentages(
        {"user": 1.0, "system": 1.0, "idle": 8.0, "interrupt": 0.0, "dpc": 0.0},
        {"user": 3.0, "system": 2.0, "idle": 15.0, "interrupt": 0.0, "dpc": 0.0},
    )
    assert windows == pytest.approx({"busy": 30.0})  # no iowait/steal on Windows
