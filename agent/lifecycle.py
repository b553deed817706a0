"""How the agent starts and stops: why it stopped, since when the PC is up, how its last run ended.

Issue 19 ("Agents say goodbye"): counter PCs are switched off at the end of the day, and a
collector that reads every silence as a fault opens false tickets. So a clean stop spools a final
``agent_stopping`` report with the reason, and a start says how the previous run ended and when
the PC booted. This module holds the vocabulary and the operating-system side:

- ``StopTrigger``: what asked the service to stop (SIGTERM, SIGINT, its own ``--max-seconds``);
- ``StopReason``: what the collector is told (``shutdown``, ``reboot``, ``service_stop``,
  ``interrupted``), found by a ``StopProbe`` from the trigger and the state of the OS;
- ``SystemStopProbe``: the real probe, which never raises and gives up after about a second:
  systemd on Linux, ``GetSystemMetrics(SM_SHUTTINGDOWN)`` and the service session on Windows;
- ``PreviousStop``: ``clean`` (the last run said goodbye), ``unclean`` (it was killed, crashed or
  lost power before), ``first_start`` (no earlier run is recorded in ``state.json``);
- ``Uptime``: the OS boot time and the uptime at a given moment, for both events.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from agent.state import AgentState
from agent.threads import in_daemon_thread
from agent.wire import Report

log = logging.getLogger(__name__)

# The real probe's whole budget: it runs while the stop is under way, and a PC that is shutting
# down does not wait for a slow systemctl.
PROBE_SECONDS = 1.0
# The limit of any probe as the runner calls it (an injected one included); past it the stop is
# reported as a service stop.
PROBE_LIMIT_SECONDS = 1.5
# Written by systemd-logind for a scheduled shutdown (`shutdown -r +5`): MODE=reboot, poweroff...
SCHEDULED_SHUTDOWN_FILE = Path("/run/systemd/shutdown/scheduled")
# Targets that restart the machine (kexec and soft-reboot restart it too, faster).
_REBOOT_TARGETS = ("reboot.target", "kexec.target", "soft-reboot.target")
_REBOOT_MODES = frozenset({"reboot", "kexec", "soft-reboot"})
# GetSystemMetrics index: non-zero while Windows is shutting down or restarting.
SM_SHUTTINGDOWN = 0x2000


class StopTrigger(StrEnum):
    """What asked the service to stop."""

    TERMINATE = "terminate"  # SIGTERM: systemd, `kill`, a Windows service control
    INTERRUPT = "interrupt"  # SIGINT: Ctrl+C in a console, and NSSM's way of stopping a service
    DEADLINE = "deadline"  # `commune-agent run --max-seconds`


class StopReason(StrEnum):
    """Why the agent stopped, as its goodbye tells the collector."""

    SHUTDOWN = "shutdown"  # the OS is powering off
    REBOOT = "reboot"  # the OS is restarting
    SERVICE_STOP = "service_stop"  # the service alone was stopped (systemctl stop, NSSM, update)
    INTERRUPTED = "interrupted"  # Ctrl+C of a console run


class PreviousStop(StrEnum):
    """How the previous run of the agent ended, as ``agent_started`` tells the collector."""

    CLEAN = "clean"  # with a goodbye
    UNCLEAN = "unclean"  # without one: killed, crashed, power cut, or an agent version before it
    FIRST_START = "first_start"  # no earlier run recorded (new install, or state.json lost)


StopProbe = Callable[[StopTrigger], StopReason]
"""The seam tests drive every reason through: the trigger in, the reason out."""

BootTimeSource = Callable[[], float | None]
"""The OS boot time as a Unix timestamp, or None when it cannot be read."""


class StopRequest(asyncio.Event):
    """The service's stop event, remembering what set it first."""

    def __init__(self) -> None:
        super().__init__()
        self.trigger: StopTrigger | None = None

    def request(self, trigger: StopTrigger) -> None:
        """Ask the service to stop; the first trigger is the one that counts."""
        if self.trigger is None:
            self.trigger = trigger
        self.set()


def stop_trigger(stop: asyncio.Event) -> StopTrigger:
    """What set ``stop``: its trigger for a ``StopRequest``, else a plain termination."""
    if isinstance(stop, StopRequest) and stop.trigger is not None:
        return stop.trigger
    return StopTrigger.TERMINATE


def previous_stop(state: AgentState) -> PreviousStop:
    """How the run recorded in ``state`` ended (read before the new run overwrites it)."""
    if state.started_at is None:
        return PreviousStop.FIRST_START
    return PreviousStop.UNCLEAN if state.stopped_at is None else PreviousStop.CLEAN


def os_boot_time() -> float | None:
    """The OS boot time from psutil (installed with every agent), None if it cannot be read.

    On Windows with "fast startup" a power-off is a hibernation: the boot time is the last full
    start, and the uptime includes the nights the PC was "off".
    """
    try:
        import psutil

        return float(psutil.boot_time())
    except Exception as exc:  # noqa: BLE001 - the events then go without boot time and uptime
        log.warning("cannot read the boot time", extra={"error": f"{exc.__class__.__name__}"})
        return None


@dataclass(frozen=True)
class Uptime:
    """The OS boot time and the uptime at one moment."""

    boot_time: float
    seconds: float

    @classmethod
    def at(cls, now: datetime, boot_time: float | None) -> Uptime | None:
        """The uptime at ``now`` for ``boot_time`` (None when the boot time is unknown)."""
        if boot_time is None:
            return None
        return cls(boot_time=boot_time, seconds=max(0.0, now.timestamp() - boot_time))

    @property
    def boot_time_iso(self) -> str:
        """The boot time in ISO 8601, UTC, to the second."""
        try:
            return datetime.fromtimestamp(self.boot_time, UTC).isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):
            return ""

    @property
    def seconds_text(self) -> str:
        """Whole seconds, as event attributes carry numbers."""
        return f"{self.seconds:.0f}"


class SystemStopProbe:
    """The real ``StopProbe``: asks the OS whether it is shutting down or restarting.

    Linux: systemd is stopping the system when ``systemctl is-system-running`` prints
    ``stopping``; it restarts it when ``systemctl list-jobs`` holds ``reboot.target`` (or kexec,
    soft-reboot), or the scheduled-shutdown file says ``MODE=reboot``. Windows: a shutdown or a
    restart (not told apart) while ``GetSystemMetrics(SM_SHUTTINGDOWN)`` is non-zero; Ctrl+C is
    NSSM's way of stopping a service, so there it is a service stop unless the agent runs in an
    interactive session. Otherwise SIGINT is ``interrupted`` and the rest ``service_stop``.

    Never raises (any failure reads as ``service_stop``) and gives up after ``time_limit``.
    """

    def __init__(
        self,
        *,
        systemctl: str = "systemctl",
        scheduled_file: Path = SCHEDULED_SHUTDOWN_FILE,
        time_limit: float = PROBE_SECONDS,
    ) -> None:
        """``systemctl``: the program to ask (tests give a script); ``time_limit`` in seconds."""
        self._systemctl = systemctl
        self._scheduled_file = scheduled_file
        self._time_limit = time_limit

    def __call__(self, trigger: StopTrigger) -> StopReason:
        """The reason for a stop asked by ``trigger``."""
        try:
            system = self._system_stopping()
        except Exception as exc:  # noqa: BLE001 - a probe failure must not stop the goodbye
            log.warning("cannot tell whether the OS is stopping", extra={"error": repr(exc)})
            system = None
        if system is not None:
            return system
        if trigger is StopTrigger.INTERRUPT and not _windows_service():
            return StopReason.INTERRUPTED
        return StopReason.SERVICE_STOP

    def _system_stopping(self) -> StopReason | None:
        if sys.platform == "win32":
            import ctypes

            shutting_down = ctypes.windll.user32.GetSystemMetrics(SM_SHUTTINGDOWN)
            return StopReason.SHUTDOWN if shutting_down else None
        deadline = time.monotonic() + self._time_limit
        state = self._ask(["is-system-running"], deadline)
        if state is None or state.strip() != "stopping":
            return None
        jobs = self._ask(["list-jobs", "--no-legend", "--no-pager"], deadline) or ""
        if any(target in jobs for target in _REBOOT_TARGETS):
            return StopReason.REBOOT
        if self._scheduled_mode() in _REBOOT_MODES:
            return StopReason.REBOOT
        return StopReason.SHUTDOWN

    def _ask(self, args: list[str], deadline: float) -> str | None:
        # systemctl prints the state and exits non-zero for any state but "running": the
        # output is the answer, the exit code is not.
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            done = subprocess.run(
                [self._systemctl, *args],
                capture_output=True,
                text=True,
                timeout=remaining,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("systemctl did not answer", extra={"args": " ".join(args), "error": repr(exc)})
            return None
        return done.stdout

    def _scheduled_mode(self) -> str | None:
        try:
            text = self._scheduled_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "MODE":
                return value.strip()
        return None


def _windows_service() -> bool:
    """Whether this process runs as a Windows service (session 0), where Ctrl+C is NSSM's stop."""
    if sys.platform != "win32":
        return False
    import ctypes
    from ctypes import wintypes

    session = wintypes.DWORD()
    kernel32 = ctypes.windll.kernel32
    if not kernel32.ProcessIdToSessionId(kernel32.GetCurrentProcessId(), ctypes.byref(session)):
        return True  # cannot tell: a service stop is the safer reading
    return session.value == 0


def mark_started(state: AgentState, now: datetime) -> PreviousStop:
    """Record a new run in ``state`` (clearing the clean-stop marker); how the last one ended."""
    previous = previous_stop(state)
    state.pid = os.getpid()
    state.started_at = now
    state.stopped_at = None
    state.stop_reason = None
    state.previous_stop = previous.value
    return previous


def mark_stopped(state: AgentState, at: datetime, reason: StopReason) -> None:
    """Set the clean-stop marker: this run said goodbye at ``at``."""
    state.stopped_at = at
    state.stop_reason = reason.value


async def probe_stop_reason(
    probe: StopProbe, trigger: StopTrigger, *, time_limit: float = PROBE_LIMIT_SECONDS
) -> StopReason:
    """``probe``'s reason, or ``service_stop`` if it fails or overruns ``time_limit``.

    It runs in a daemon thread: the real probe starts systemctl, which must not hold up the exit.
    """
    try:
        reason = await asyncio.wait_for(in_daemon_thread(probe, trigger), time_limit)
        return StopReason(reason)
    except Exception as exc:  # noqa: BLE001 - whatever the probe does, the goodbye goes out
        log.warning(
            "stop reason unknown; reporting a service stop",
            extra={"trigger": trigger.value, "error": repr(exc)},
        )
    return StopReason.SERVICE_STOP


async def settle(tasks: set[asyncio.Task[Any]], until: float) -> None:
    """Let ``tasks`` finish until loop time ``until``, then cancel those still running."""
    loop = asyncio.get_running_loop()
    if tasks:
        await asyncio.wait(set(tasks), timeout=max(0.0, until - loop.time()))
    late = {task for task in tasks if not task.done()}
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late, timeout=1.0)


@dataclass(frozen=True)
class Goodbye:
    """What a clean stop did: its ``agent_stopping`` report, the reason, whether it was sent."""

    report: Report
    reason: StopReason
    sent: bool
