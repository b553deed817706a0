"""The alert tests' reports are the agent's: recorded from its real check, and checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter

from agent.catalogue import load_all
from agent.wire import DeviceReport
from tests.alerts import agent_samples
from tests.alerts.support import expand, goodbye, pc, printer, probe_device, router

_DEVICES: TypeAdapter[list[DeviceReport]] = TypeAdapter(list[DeviceReport])


async def test_the_recording_is_what_the_agents_probe_sends_today(tmp_path: Path) -> None:
    # Recorded again with the real http_probe check against real servers on 127.0.0.1: a change
    # of the agent's samples fails here until the recording (and so the helpers) follow it.
    fresh = await agent_samples.record(tmp_path)
    recorded = agent_samples.load()
    assert set(fresh) == set(recorded) == set(agent_samples.STATES)
    for state in agent_samples.STATES:
        assert agent_samples.signature(fresh[state]) == agent_samples.signature(recorded[state])
        assert [e["type"] for e in fresh[state]["events"]] == [
            e["type"] for e in recorded[state]["events"]
        ]


def test_a_cut_line_sends_no_status_and_no_connect_phase() -> None:
    cut = agent_samples.signature(agent_samples.load()["cut"])
    names = {name for name, _ in cut}
    phases = {dict(labels).get("phase") for name, labels in cut}
    assert "probe_http_status" not in names
    assert "connect" not in phases
    assert "probe_success" in names


@pytest.mark.parametrize("state", agent_samples.STATES)
def test_the_helpers_probe_devices_send_what_the_agent_sends(state: str) -> None:
    made = probe_device("PC-01", "motcua", state)
    assert agent_samples.signature(made) == agent_samples.signature(agent_samples.load()[state])


def test_every_helper_sample_and_event_is_catalogued() -> None:
    devices = expand(
        [
            goodbye(pc("PC-01", probe="fail")),
            pc("PC-02", probe={"motcua": "cut", "dvcqg": "maintenance"}),
            pc("PC-03", probe="slow_path"),
            router("RT", wan_up=False),
            router("RT2"),
            printer("PR", level=5.0, jammed=True),
        ]
    )
    reports = _DEVICES.validate_python(devices)
    assert load_all().problems(reports) == []
