"""Samples built from snapshots: rates across a counter reset."""

from __future__ import annotations

from collections import namedtuple

import psutil

from agent.checks.host import HostCheck, HostConfig
from tests.agent.checks.helpers import FakeClock
from tests.agent.checks.host.support import NO_SMART, by_name, collect


async def test_host_counter_reset_gives_no_rate_that_round(monkeypatch):
    snetio = namedtuple(
        "snetio",
        "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout",
    )
    readings = iter(
        [
            {"eth9": snetio(9_000, 90_000, 90, 900, 0, 0, 0, 0)},
            {"eth9": snetio(100, 1_000, 1, 10, 0, 0, 0, 0)},  # driver reloaded: counters restart
            {"eth9": snetio(1_600, 31_000, 11, 40, 3, 0, 0, 0)},
        ]
    )
    monkeypatch.setattr(psutil, "net_io_counters", lambda pernic: next(readings))
    clock = FakeClock()
    check = HostCheck(HostConfig(cpu_first_window_seconds=0, **NO_SMART), clock=clock)
    await collect(check)
    clock.advance(10)
    after_reset = await collect(check)
    assert by_name(after_reset, "network_bytes_per_second") == []
    clock.advance(10)
    normal = await collect(check)
    rates = {
        (s.name, s.labels["direction"]): s.value
        for s in normal.samples
        if s.name.startswith("network_") and s.labels.get("nic") == "eth9"
    }
    assert rates[("network_bytes_per_second", "receive")] == 3_000.0
    assert rates[("network_bytes_per_second", "transmit")] == 150.0
    assert rates[("network_errors_per_second", "receive")] == 0.3
