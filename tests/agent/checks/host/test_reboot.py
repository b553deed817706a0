"""Reboot detection: injected boot times, small uptime at start, the state file."""

from __future__ import annotations

import json

import pytest

from agent.checks.host import HostCheck, HostConfig
from tests.agent.checks.helpers import FakeClock
from tests.agent.checks.host.support import NO_SMART, collect, one


async def test_host_reboot_detected_from_an_injected_boot_time():
    clock = FakeClock()
    boot = [clock.now().timestamp() - 10 * 86_400]
    check = HostCheck(HostConfig(**NO_SMART), clock=clock, boot_time=lambda: boot[0])
    first = await collect(check)
    assert first.events == []  # long uptime, nothing known before: no reboot claimed
    clock.advance(15)
    boot[0] += 0.6  # Windows computes boot time from a tick count: sub-second jitter
    assert (await collect(check)).events == []
    clock.advance(600)
    boot[0] = clock.now().timestamp() - 90
    third = await collect(check)
    [event] = third.events
    assert event.type == "host_rebooted"
    assert event.attrs["detected_by"] == "boot_time"
    assert "previous_boot_time" in event.attrs
    assert one(third, "uptime_seconds") == pytest.approx(90)
    clock.advance(15)
    assert (await collect(check)).events == []  # said once per reboot


async def test_host_reboot_detected_from_small_uptime_at_agent_start():
    clock = FakeClock()
    check = HostCheck(
        HostConfig(smartctl_path=None),  # default recent_boot_seconds: 15 min
        clock=clock,
        boot_time=lambda: clock.now().timestamp() - 75,
    )
    [event] = (await collect(check)).events
    assert event.attrs["detected_by"] == "uptime"
    assert event.attrs["uptime_seconds"] == "75"


async def test_host_reboot_survives_an_agent_restart_through_the_state_file(tmp_path):
    clock = FakeClock()
    state = tmp_path / "host_state.json"
    old_boot = clock.now().timestamp() - 5 * 86_400
    before = HostCheck(
        HostConfig(**NO_SMART), clock=clock, state_path=state, boot_time=lambda: old_boot
    )
    assert (await collect(before)).events == []
    assert json.loads(state.read_text())["boot_time"] == old_boot
    clock.advance(3600)
    new_boot = clock.now().timestamp() - 20 * 60  # rebooted; agent started 20 min later
    after = HostCheck(
        HostConfig(**NO_SMART), clock=clock, state_path=state, boot_time=lambda: new_boot
    )
    [event] = (await collect(after)).events
    assert event.attrs["detected_by"] == "boot_time"
    assert json.loads(state.read_text())["boot_time"] == new_boot
