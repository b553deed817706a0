"""Why the agent stops and how its last run ended (agent/lifecycle.py), without the service.

The real stop probe is run against small ``systemctl`` programs that answer as systemd does
while running, powering off and rebooting (and one that hangs), and against this machine's own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.lifecycle import (
    PreviousStop,
    StopReason,
    StopRequest,
    StopTrigger,
    SystemStopProbe,
    Uptime,
    mark_started,
    mark_stopped,
    previous_stop,
    probe_stop_reason,
    settle,
    stop_trigger,
)
from agent.state import AgentState, load_state, save_state

NOW = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)  # 17:05 in Hà Nội

# What systemd 252 prints during `systemctl poweroff` / `systemctl reboot` (list-jobs without its
# legend), and while the system runs normally.
POWEROFF_JOBS = """\
 1021 poweroff.target                 start waiting
 1024 systemd-poweroff.service        start waiting
 1112 commune-agent.service           stop  running
"""
REBOOT_JOBS = """\
 1021 reboot.target                   start waiting
 1024 systemd-reboot.service          start waiting
 1112 commune-agent.service           stop  running
"""


def fake_systemctl(tmp_path: Path, state: str, jobs: str = "", *, hang: bool = False) -> str:
    """An executable that answers ``is-system-running`` and ``list-jobs`` like systemctl."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "jobs.txt").write_text(jobs)
    script = tmp_path / "systemctl"
    if hang:
        body = "exec sleep 30\n"
    else:
        body = (
            'case "$1" in\n'
            f"  is-system-running) echo {state}; [ {state} = running ];;\n"
            f'  list-jobs) cat "{tmp_path / "jobs.txt"}";;\n'
            "  *) exit 1;;\n"
            "esac\n"
        )
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("state", "jobs", "scheduled", "expected"),
    [
        ("stopping", POWEROFF_JOBS, None, StopReason.SHUTDOWN),
        ("stopping", REBOOT_JOBS, None, StopReason.REBOOT),
        # The jobs could not be listed: a scheduled shutdown's file still tells a reboot.
        ("stopping", "", "USEC=1772445900000000\nWARN_WALL=1\nMODE=reboot\n", StopReason.REBOOT),
        ("stopping", "", "USEC=1772445900000000\nMODE=poweroff\n", StopReason.SHUTDOWN),
        ("stopping", "", None, StopReason.SHUTDOWN),
        # Running normally: the service alone is stopped, whatever a scheduled shutdown says.
        ("running", "", "MODE=reboot\n", StopReason.SERVICE_STOP),
        ("degraded", "", None, StopReason.SERVICE_STOP),
    ],
)
def test_the_real_probe_reads_what_systemd_is_doing(
    tmp_path: Path, state: str, jobs: str, scheduled: str | None, expected: StopReason
) -> None:
    scheduled_file = tmp_path / "scheduled"
    if scheduled is not None:
        scheduled_file.write_text(scheduled)
    probe = SystemStopProbe(
        systemctl=fake_systemctl(tmp_path, state, jobs), scheduled_file=scheduled_file
    )
    assert probe(StopTrigger.TERMINATE) is expected


def test_ctrl_c_is_interrupted_unless_the_os_is_stopping(tmp_path: Path) -> None:
    running = SystemStopProbe(systemctl=fake_systemctl(tmp_path / "a", "running"))
    assert running(StopTrigger.INTERRUPT) is StopReason.INTERRUPTED
    assert running(StopTrigger.DEADLINE) is StopReason.SERVICE_STOP
    stopping = SystemStopProbe(systemctl=fake_systemctl(tmp_path / "b", "stopping", REBOOT_JOBS))
    assert stopping(StopTrigger.INTERRUPT) is StopReason.REBOOT


def test_the_real_probe_never_raises_and_gives_up_after_about_a_second(tmp_path: Path) -> None:
    missing = SystemStopProbe(systemctl=str(tmp_path / "no-such-systemctl"))
    assert missing(StopTrigger.TERMINATE) is StopReason.SERVICE_STOP
    assert missing(StopTrigger.INTERRUPT) is StopReason.INTERRUPTED

    hung = SystemStopProbe(systemctl=fake_systemctl(tmp_path, "stopping", hang=True))
    started = time.monotonic()
    assert hung(StopTrigger.TERMINATE) is StopReason.SERVICE_STOP
    # systemctl was killed at the probe's 1 s budget, not waited for (30 s).
    assert time.monotonic() - started < 1.8


def test_the_real_probe_on_this_machine_says_service_stop() -> None:
    # Whatever this machine's systemctl says (here: systemd is not PID 1, "offline"), it is
    # not stopping: a SIGTERM is a service stop.
    started = time.monotonic()
    assert SystemStopProbe()(StopTrigger.TERMINATE) is StopReason.SERVICE_STOP
    assert time.monotonic() - started < 1.8


def _says(word: str) -> Any:
    # A probe written carelessly: it returns a string, not a StopReason.
    return lambda _trigger: word


async def test_the_runner_side_of_the_probe_falls_back_to_a_service_stop() -> None:
    def broken(trigger: StopTrigger) -> StopReason:
        raise RuntimeError("no WMI today")

    release = threading.Event()

    def stuck(trigger: StopTrigger) -> StopReason:
        release.wait(30)
        return StopReason.REBOOT

    assert await probe_stop_reason(broken, StopTrigger.TERMINATE) is StopReason.SERVICE_STOP
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        reason = await probe_stop_reason(stuck, StopTrigger.TERMINATE, time_limit=0.2)
    finally:
        release.set()
    assert reason is StopReason.SERVICE_STOP
    assert loop.time() - started < 1.0
    # A plain string that names a reason is taken; one that does not is a service stop.
    assert await probe_stop_reason(_says("reboot"), StopTrigger.TERMINATE) is StopReason.REBOOT
    hibernate = await probe_stop_reason(_says("hibernate"), StopTrigger.TERMINATE)
    assert hibernate is StopReason.SERVICE_STOP


def test_previous_stop_follows_the_clean_stop_marker(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = load_state(path)
    assert previous_stop(state) is PreviousStop.FIRST_START

    assert mark_started(state, NOW) is PreviousStop.FIRST_START
    save_state(path, state, durable=True)
    # Killed here: the next start finds a run without its goodbye.
    state = load_state(path)
    assert previous_stop(state) is PreviousStop.UNCLEAN
    assert mark_started(state, NOW + timedelta(hours=15)) is PreviousStop.UNCLEAN
    mark_stopped(state, NOW + timedelta(hours=24), StopReason.SHUTDOWN)
    save_state(path, state)

    state = load_state(path)
    assert (state.stopped_at, state.stop_reason) == (NOW + timedelta(hours=24), "shutdown")
    assert mark_started(state, NOW + timedelta(hours=39)) is PreviousStop.CLEAN
    # The new run clears the marker at once: a kill from now on reads as unclean again.
    assert (state.stopped_at, state.stop_reason, state.previous_stop) == (None, None, "clean")


def test_a_state_file_of_an_agent_before_goodbyes_reads_as_unclean(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"pid": 812, "started_at": "2026-03-01T01:00:00Z", "send_failures": 0}')
    assert previous_stop(load_state(path)) is PreviousStop.UNCLEAN
    assert previous_stop(AgentState()) is PreviousStop.FIRST_START


def test_uptime_is_measured_at_the_given_moment() -> None:
    boot = (NOW - timedelta(hours=9, minutes=3)).timestamp()
    uptime = Uptime.at(NOW, boot)
    assert uptime is not None
    assert (uptime.seconds_text, uptime.boot_time_iso) == ("32580", "2026-03-02T01:02:00+00:00")
    assert Uptime.at(NOW, None) is None
    # A clock behind the boot time (an old CMOS battery) gives 0, never a negative uptime.
    behind = Uptime.at(NOW, (NOW + timedelta(seconds=30)).timestamp())
    assert behind is not None
    assert behind.seconds == 0.0


async def test_the_first_stop_request_names_the_trigger() -> None:
    stop = StopRequest()
    assert stop_trigger(stop) is StopTrigger.TERMINATE
    stop.request(StopTrigger.INTERRUPT)
    stop.request(StopTrigger.DEADLINE)
    assert stop.is_set()
    assert stop_trigger(stop) is StopTrigger.INTERRUPT
    assert stop_trigger(asyncio.Event()) is StopTrigger.TERMINATE


async def test_settle_lets_quick_tasks_finish_and_cancels_the_rest() -> None:
    done: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0)
        done.append("quick")

    async def hung() -> None:
        await asyncio.Event().wait()

    loop = asyncio.get_running_loop()
    tasks = {loop.create_task(quick()), loop.create_task(hung())}
    started = loop.time()
    await settle(tasks, started + 0.2)
    assert done == ["quick"]
    assert all(task.done() for task in tasks)
    assert sum(task.cancelled() for task in tasks) == 1
    assert loop.time() - started < 1.0
