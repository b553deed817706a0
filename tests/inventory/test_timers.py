"""The register's background timers (inventory/timers.py): a pass at once or when asked, then
every period, failures logged and retried, and a stop that waits for the pass in progress."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from inventory.timers import periodic


async def test_a_gated_timer_waits_for_its_start() -> None:
    calls: list[int] = []
    start, done = asyncio.Event(), asyncio.Event()
    async with periodic("test", 3600, lambda: calls.append(1), done.set, start=start):
        for _ in range(50):
            await asyncio.sleep(0)  # a turn of the loop, no time passes
        assert calls == []
        start.set()
        await asyncio.wait_for(done.wait(), timeout=60)
        assert calls == [1]


async def test_a_failing_pass_is_logged_and_the_timer_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    done = asyncio.Event()

    def broken() -> None:
        raise RuntimeError("store away")

    with caplog.at_level(logging.ERROR, logger="inventory.timers"):
        async with periodic("broken", 3600, broken, done.set):
            await asyncio.wait_for(done.wait(), timeout=60)
    assert [r.getMessage() for r in caplog.records] == [
        "background pass failed; retrying at the next period"
    ]
    assert caplog.records[0].timer == "broken"  # type: ignore[attr-defined]


async def test_stopping_waits_for_the_pass_in_progress() -> None:
    entered, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow() -> None:
        entered.set()
        release.wait(60)
        finished.append(True)

    timer = periodic("slow", 3600, slow)
    await timer.__aenter__()
    await asyncio.to_thread(entered.wait, 60)
    stopping = asyncio.create_task(timer.__aexit__(None, None, None))
    for _ in range(50):
        await asyncio.sleep(0)  # a turn of the loop, no time passes
    assert not stopping.done()  # held by the pass in its thread
    release.set()
    await asyncio.wait_for(stopping, timeout=60)
    assert finished == [True]


async def test_a_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="the period must be positive"):
        async with periodic("zero", 0, lambda: None):
            pass
