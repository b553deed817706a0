"""The register's background work as asyncio timers: the figures of /metrics, the rollups' pruning.

Each pass runs in a worker thread (it reads the store), at once and then every period, for the
duration of an ``async with``; a failed pass is logged and retried at the next period. Stopping
waits for the pass in progress, so that it never runs on a store being closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def periodic(
    name: str,
    seconds: float,
    work: Callable[[], object],
    after: Callable[[], None] | None = None,
    start: asyncio.Event | None = None,
) -> AsyncIterator[None]:
    """Run ``work`` in a thread now (or once ``start`` is set) and every ``seconds`` for the
    block; ``after`` (on the event loop) follows each pass, failed or not."""
    if seconds <= 0:
        raise ValueError(f"{name}: the period must be positive, not {seconds}")
    inflight: asyncio.Future[object] | None = None

    async def forever() -> None:
        nonlocal inflight
        if start is not None:
            await start.wait()
        while True:
            inflight = asyncio.ensure_future(asyncio.to_thread(work))
            try:
                # Shielded: a stop waits for the pass below instead of abandoning its thread.
                await asyncio.shield(inflight)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "background pass failed; retrying at the next period", extra={"timer": name}
                )
            if after is not None:
                after()
            await asyncio.sleep(seconds)

    task = asyncio.get_running_loop().create_task(forever(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if inflight is not None and not inflight.done():
            with contextlib.suppress(Exception):
                await inflight
