"""Blocking calls that must never hold up the agent's exit, each in a daemon thread of its own.

``asyncio.to_thread`` uses the loop's executor, whose worker threads are joined when the loop and
the interpreter shut down: a request to a collector that took the connection and never answers
would keep a stopping agent alive for the whole HTTP timeout (30 s, as long as systemd waits
before it kills the service; a PC that is switching off does not wait at all). A daemon thread
is abandoned at exit instead. Nothing is lost with it: a send that was not acknowledged leaves
its reports in the spool (issue 19, "Agents say goodbye").
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")


async def in_daemon_thread(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``func`` in a new daemon thread and await its result (or its exception).

    Cancelling the awaiting coroutine abandons the call: the thread finishes on its own, or
    dies with the process.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: object, error: BaseException | None) -> None:
        if future.done():  # the caller gave up waiting (cancelled, or its time ran out)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast(T, result))

    def work() -> None:
        result: object = None
        error: BaseException | None = None
        try:
            result = func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting coroutine, which raises it
            error = exc
        # The loop is closed once the agent has exited its service: nobody waits any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    name = f"agent-{getattr(func, '__name__', 'call')}"
    threading.Thread(target=work, name=name, daemon=True).start()
    return await future
