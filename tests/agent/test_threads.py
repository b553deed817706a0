"""Blocking calls in daemon threads (agent/threads.py): the result or the exception comes back
to the awaiting coroutine, and a caller that gives up is not held by the call."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent.threads import in_daemon_thread


async def test_the_result_and_the_thread_are_the_calls_own() -> None:
    def work(a: int, *, b: int) -> tuple[int, str, bool]:
        current = threading.current_thread()
        return a + b, current.name, current.daemon

    total, name, daemon = await in_daemon_thread(work, 2, b=3)
    assert (total, name, daemon) == (5, "agent-work", True)


async def test_an_exception_reaches_the_caller() -> None:
    def fail() -> None:
        raise ValueError("collector refused")

    with pytest.raises(ValueError, match="collector refused"):
        await in_daemon_thread(fail)


async def test_a_caller_that_gives_up_is_not_held_by_a_call_that_hangs() -> None:
    release = threading.Event()
    finished = threading.Event()

    def hang() -> str:
        release.wait(timeout=30)
        finished.set()
        return "late"

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(in_daemon_thread(hang), timeout=0.05)
    assert not finished.is_set()
    # The abandoned call finishes on its own; its late result goes nowhere.
    release.set()
    assert await asyncio.to_thread(finished.wait, 5)
    await asyncio.sleep(0)
