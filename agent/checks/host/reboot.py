"""Uptime and reboots of the PC, from the boot time psutil reports.

A reboot is the boot time moving forward (the last one is kept in an optional state file, so an
agent restarted with the PC still sees the reboot) or, with no earlier boot time known, a small
uptime at the first collection. Windows "fast startup" hibernates instead of shutting down, so a
power-off/on without a restart may not count as a reboot there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from agent.checks.host.config import HostConfig
from agent.clock import Clock
from agent.wire import Event, Sample, Severity

log = logging.getLogger(__name__)


class BootWatch:
    """Uptime samples, and a ``host_rebooted`` event once per reboot."""

    def __init__(self, config: HostConfig, clock: Clock, state_path: Path | None) -> None:
        """``state_path``: a small JSON file remembering the boot time across agent restarts."""
        self.config = config
        self._clock = clock
        self._state_path = state_path
        self._last_boot: float | None = None
        self._state_loaded = False

    async def observe(self, boot_time: float) -> tuple[list[Sample], Event | None]:
        """Uptime samples for ``boot_time``, and the reboot event if it is a new boot."""
        now_wall = self._clock.now().timestamp()
        uptime = max(0.0, now_wall - boot_time)
        samples = [
            Sample(name="boot_time_seconds", value=boot_time),
            Sample(name="uptime_seconds", value=uptime),
        ]
        if not self._state_loaded:
            self._state_loaded = True
            self._last_boot = await asyncio.to_thread(self._load_state)
        previous = self._last_boot
        event: Event | None = None
        if previous is None:
            if uptime < self.config.recent_boot_seconds:
                event = _reboot_event(None, boot_time, uptime, "uptime")
        elif boot_time - previous > self.config.reboot_tolerance_seconds:
            event = _reboot_event(previous, boot_time, uptime, "boot_time")
        elif previous - boot_time > self.config.reboot_tolerance_seconds:
            # The wall clock was stepped back (an old PC's CMOS clock corrected by NTP): not a
            # reboot, but the reference must follow.
            log.info("boot time moved back", extra={"previous": previous, "boot_time": boot_time})
        else:
            return samples, None
        self._last_boot = boot_time
        await asyncio.to_thread(self._save_state, boot_time)
        return samples, event

    def _load_state(self) -> float | None:
        if self._state_path is None:
            return None
        try:
            data = json.loads(self._state_path.read_text(encoding="utf-8"))
            value = data.get("boot_time") if isinstance(data, dict) else None
            return float(value) if isinstance(value, int | float) else None
        except (OSError, ValueError):
            return None

    def _save_state(self, boot_time: float) -> None:
        if self._state_path is None:
            return
        try:
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"boot_time": boot_time}), encoding="utf-8")
            os.replace(tmp, self._state_path)
        except OSError as exc:
            log.warning(
                "cannot save host state", extra={"path": str(self._state_path), "error": str(exc)}
            )


def _iso(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def _reboot_event(previous: float | None, boot_time: float, uptime: float, how: str) -> Event:
    attrs = {"boot_time": _iso(boot_time), "detected_by": how, "uptime_seconds": f"{uptime:.0f}"}
    if previous is not None:
        attrs["previous_boot_time"] = _iso(previous)
    return Event(
        type="host_rebooted",
        severity=Severity.INFO,
        message=f"the PC started at {attrs['boot_time']}",
        attrs=attrs,
    )
