"""History through the deployment's separate processes: fast back-fill for a simulated run.

``serve --no-processor --workers 2`` beside ``process`` (``python -m province`` children on a free
loopback port) ingest and process a back-fill on both cores while the simulator generates the
reports in the calling process; the demo (``province/demo.py``) uses it, the benchmarks measure
the same layout. The children read the real clock: post history to them with real ``sent_at``
times (``Driver.backfill(..., sent_clock=SystemClock())``). Both are stopped by their PIDs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

import httpx
from sqlalchemy import Engine

from collector.errors import CollectorError
from collector.settings import Settings

_T = TypeVar("_T")


class HistoryError(CollectorError):
    """The history processes could not start."""


async def until_stopped(work: Awaitable[_T], stop: asyncio.Event) -> _T | None:
    """The result of ``work``, or None if ``stop`` is set first (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()


async def processed(engine: Engine, on_progress: Callable[[int, int], None]) -> bool:
    """Wait until the journal processor has consumed every stored report; ``on_progress`` is
    told (done, total) as it goes."""
    from sqlalchemy import func, select

    from collector.schema import cursors, journal

    def positions() -> tuple[int, int]:
        with engine.connect() as conn:
            top = conn.execute(select(func.max(journal.c.id))).scalar_one() or 0
            done = conn.execute(
                select(cursors.c.position).where(cursors.c.name == "processor")
            ).scalar_one_or_none()
        return int(top), int(done or 0)

    while True:
        top, done = await asyncio.to_thread(positions)
        on_progress(min(done, top), max(top, 1))
        if done >= top:
            return True
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def history_collector(settings: Settings, log_file: Path) -> AsyncIterator[str]:
    """``serve --no-processor`` and ``process`` on the store of ``settings``: the URL to post
    history to.

    Both are stopped by their PIDs on the way out; ``process`` with SIGINT, which releases its
    lease so that this process's own processor takes over at once.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    children: list[tuple[subprocess.Popen[bytes], signal.Signals]] = []
    with log_file.open("ab") as log_sink:
        try:
            start_children(children, settings, port, log_sink)
            url = f"http://127.0.0.1:{port}"
            await wait_ready(url, [child for child, _ in children])
            yield url
        finally:
            for child, stop_signal in reversed(children):
                await asyncio.to_thread(stop_child, child, stop_signal)


def start_children(
    children: list[tuple[subprocess.Popen[bytes], signal.Signals]],
    settings: Settings,
    port: int,
    log_sink: IO[bytes],
) -> None:
    """Start the processor, then ingest (``python -m province``, the deployment's layout); each
    is appended to ``children`` as soon as it runs."""
    env = {**os.environ, **child_settings(settings)}
    base = [sys.executable, "-m", "province", "--log-level", "WARNING"]
    # Two ingest workers: with a month of one agent per POST, validation is most of the work and
    # SQLite's single writer is not the limit (benchmarks/fleet.py --layout workers2).
    serve = ["serve", "--no-processor", "--no-migrate", "--workers", "2"]
    serve += ["--host", "127.0.0.1", "--port", str(port)]
    for args, stop_signal in ((["process"], signal.SIGINT), (serve, signal.SIGTERM)):
        child = subprocess.Popen([*base, *args], env=env, stdout=log_sink, stderr=subprocess.STDOUT)
        children.append((child, stop_signal))


def child_settings(settings: Settings) -> dict[str, str]:
    """The settings as COMMUNE_MONITOR_* variables for the history processes (a section,
    e.g. ``alerts``, as one variable per field: COMMUNE_MONITOR_ALERTS_CALENDAR_FILE)."""
    from pydantic import SecretStr

    def text(value: object) -> str:
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

    out: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_unset=True).items():
        if value is None or name in ("host", "port"):
            continue
        if isinstance(value, dict):
            for field, inner in value.items():
                if inner is not None:
                    out[f"COMMUNE_MONITOR_{name.upper()}_{field.upper()}"] = text(inner)
            continue
        out[f"COMMUNE_MONITOR_{name.upper()}"] = text(value)
    # History is fault-free and ends at the start: no agent is silent yet, so no silence sweep
    # (it would find every agent quiet since its last back-filled report) runs while it is
    # written.
    out["COMMUNE_MONITOR_ALERTS_SWEEP_SECONDS"] = str(24 * 3600)
    return out


async def wait_ready(url: str, children: Sequence[subprocess.Popen[bytes]]) -> None:
    """Wait until ``url`` is ready (HistoryError if a child stops or 60 s pass)."""
    deadline = time.monotonic() + 60.0
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                raise HistoryError("a history process stopped while starting; see the log")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise HistoryError(f"the history collector did not answer {url}/readyz within 60 s")


def stop_child(child: subprocess.Popen[bytes], stop_signal: signal.Signals) -> None:
    """Stop one child by its PID, with ``stop_signal``, then kill it after 30 s."""
    if child.poll() is None:
        child.send_signal(stop_signal)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
