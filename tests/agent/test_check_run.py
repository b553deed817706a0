"""Running one check once: built from its spec, a state file only for checks that keep state."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from agent.agent_config import CheckSpec
from agent.check_run import build_check, run_check
from agent.checks.base import CheckConfig
from agent.checks.host import HostCheck
from agent.checks.signing import SigningCheck
from agent.wire import DeviceKind, DeviceReport
from tests.agent.checks.helpers import FakeClock


class _SlowCheck:
    name: ClassVar[str] = "slow"
    config_model: ClassVar[type[CheckConfig]] = CheckConfig

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self._clock, self._seconds = clock, seconds

    async def collect(self) -> list[DeviceReport]:
        self._clock.advance(self._seconds)
        await asyncio.sleep(0)
        return [DeviceReport(device_id="pc", kind=DeviceKind.PC)]


class _RaisingCheck(_SlowCheck):
    async def collect(self) -> list[DeviceReport]:
        raise RuntimeError("driver said no")


class _HangingCheck(_SlowCheck):
    async def collect(self) -> list[DeviceReport]:
        await asyncio.Event().wait()
        return []


def test_only_checks_that_keep_state_get_a_state_file_of_their_own(tmp_path: Path) -> None:
    clock = FakeClock()
    host = build_check("my host!", CheckSpec(check="host"), clock=clock, state_dir=tmp_path)
    assert isinstance(host, HostCheck)
    assert host._boots._state_path == tmp_path / "check-my_host_.json"
    signing = build_check(
        "signing",
        CheckSpec(check="signing", options={"version_timeout_seconds": 1}),
        clock=clock,
        state_dir=tmp_path,
    )
    assert isinstance(signing, SigningCheck)
    assert signing.config.version_timeout_seconds == 1


async def test_a_run_is_timed_on_the_clock_and_failures_are_results() -> None:
    clock = FakeClock()
    spec = CheckSpec(check="host")
    ran = await run_check("a", spec, _SlowCheck(clock, 2.5), clock=clock, time_limit=5)
    assert ran.ok
    assert ran.duration_seconds == 2.5
    assert [d.device_id for d in ran.devices] == ["pc"]
    raised = await run_check("b", spec, _RaisingCheck(clock, 0), clock=clock, time_limit=5)
    assert (raised.ok, raised.error_class) == (False, "error")
    assert raised.error == "RuntimeError: driver said no"
    hung = await run_check("c", spec, _HangingCheck(clock, 0), clock=clock, time_limit=0.05)
    assert (hung.error_class, hung.error) == ("timeout", "did not finish within 0.05 s")
