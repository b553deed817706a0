"""The agent's service loop (agent/service_loop.py): asked to stop, it lets a running check finish
and sends everything before it exits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from sqlalchemy import Engine

from agent.agent_config import AgentConfig, CheckSpec
from agent.checks.base import CheckConfig
from agent.lifecycle import StopReason
from agent.service_loop import AgentService
from agent.wire import DeviceKind, DeviceReport, Sample
from collector.settings import Settings
from tests.agent.support import (
    agent_settings,
    in_process_collector,
    journal_rows,
)
from tests.fakes import FakeClock


class _GatedConfig(CheckConfig):
    pass


class _GatedCheck:
    """A check that measures until the test lets it finish."""

    name: ClassVar[str] = "gated"
    config_model: ClassVar[type[CheckConfig]] = _GatedConfig

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def collect(self) -> list[DeviceReport]:
        self.started.set()
        await self.release.wait()
        sample = Sample(name="cpu_percent", value=99.0)
        return [DeviceReport(device_id="quay-1", kind=DeviceKind.PC, samples=[sample])]


async def test_stopping_the_service_lets_a_running_check_finish_and_sends_everything(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    gated = _GatedCheck()
    config = AgentConfig(checks={"slow": CheckSpec(check="host", interval_seconds=3600)})
    async with in_process_collector(engine, settings, clock) as collector:
        identity = await collector.enrol(tmp_path)
        async with collector.client() as client:
            runner = AgentService(
                agent_settings(tmp_path, device_id="quay-1", send_delay_seconds=0),
                identity,
                client=client,
                clock=clock,
                config=config,
                check_factory=lambda _name, _spec: gated,
                stop_probe=lambda _trigger: StopReason.SERVICE_STOP,
            )
            stop = asyncio.Event()
            service = asyncio.create_task(runner.run(stop))
            try:
                await asyncio.wait_for(gated.started.wait(), 10)
                stop.set()
                # The check finishes only after the stop was asked for, and (on an idle machine)
                # after the last send would have gone out had the service not waited for it.
                asyncio.get_running_loop().call_later(0.2, gated.release.set)
                await asyncio.wait_for(service, 30)
            finally:
                runner.close()
    rows = journal_rows(engine, identity.agent_id)
    values = [s.value for _, _, r in rows for d in r.devices for s in d.samples]
    assert 99.0 in values
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
