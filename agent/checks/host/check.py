"""The ``host`` check: the PC's own health, as one ``pc`` device report per collection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import psutil

from agent.checks.base import CheckConfig
from agent.checks.common import pc_device_id
from agent.checks.host import samples as build
from agent.checks.host.config import HostConfig
from agent.checks.host.facts import current_facts, static_facts
from agent.checks.host.memory import MemoryWatch
from agent.checks.host.reboot import BootWatch
from agent.checks.host.smart import SmartMonitor
from agent.checks.host.snapshot import Counters, Snapshot, take_snapshot
from agent.clock import Clock, SystemClock
from agent.wire import DeviceKind, DeviceReport, Event, Sample


class HostCheck:
    """The ``host`` check: the PC's own health, as one ``pc`` device report per collection."""

    name: ClassVar[str] = "host"
    config_model: ClassVar[type[CheckConfig]] = HostConfig

    def __init__(
        self,
        config: HostConfig | None = None,
        *,
        clock: Clock | None = None,
        state_path: Path | None = None,
        boot_time: Callable[[], float] | None = None,
    ) -> None:
        """``state_path``: a small JSON file remembering the boot time across agent restarts.

        ``boot_time`` replaces ``psutil.boot_time`` (tests inject reboots through it).
        """
        self.config = config or HostConfig()
        self._clock: Clock = clock or SystemClock()
        self._boot_time = boot_time or psutil.boot_time
        self._device_id = pc_device_id(self.config.device_id)
        self._previous: Counters | None = None
        self._previous_at = 0.0
        self._static_facts: dict[str, str] | None = None
        self._boots = BootWatch(self.config, self._clock, state_path)
        self._memory = MemoryWatch(self.config)
        self._smart = SmartMonitor(self.config, self._clock)

    def _snapshot_and_facts(self, first: bool) -> tuple[Snapshot, dict[str, str]]:
        # The OS side, run in one worker thread: every psutil call blocks.
        snap = take_snapshot(self.config, first, self._boot_time)
        if self._static_facts is None:
            self._static_facts = static_facts()
        return snap, current_facts(self._static_facts, self.config.nic_exclude)

    async def collect(self) -> list[DeviceReport]:
        """Measure the PC once; never raises for a measurement failure."""
        first = self._previous is None
        snap, facts = await asyncio.to_thread(self._snapshot_and_facts, first)
        now_mono = self._clock.monotonic()
        samples: list[Sample] = []
        events: list[Event] = []
        samples += build.cpu_samples(self._previous, snap)
        samples += build.memory_samples(snap)
        samples += build.volume_samples(snap)
        samples += build.rate_samples(self._previous, snap.counters, now_mono - self._previous_at)
        samples += build.nic_state_samples(snap)
        samples += build.sensor_samples(snap)
        uptime_samples, reboot = await self._boots.observe(snap.boot_time)
        samples += uptime_samples
        if reboot is not None:
            events.append(reboot)
        memory_event = await self._memory.check(snap.memory, now_mono)
        if memory_event is not None:
            events.append(memory_event)
        smart_samples, smart_events = await self._smart.poll()
        samples += smart_samples
        events += smart_events
        self._previous, self._previous_at = snap.counters, now_mono
        return [
            DeviceReport(
                device_id=self._device_id,
                kind=DeviceKind.PC,
                samples=samples,
                events=events,
                facts=facts,
            )
        ]
