"""History through separate processes (sim/history.py): the children's settings as variables,
waiting for work or a stop, the processor's progress, a child that dies while starting, and
children stopped by their PIDs."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from collector.settings import load_settings
from sim.history import (
    HistoryError,
    child_settings,
    processed,
    stop_child,
    until_stopped,
    wait_ready,
)
from tests.services import free_port


def test_the_children_get_the_settings_as_variables(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        admin_token="admin-secret",
    )
    settings = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"calendar_file": tmp_path / "c.yaml"})}
    )
    assert isinstance(settings.admin_token, SecretStr)
    env = child_settings(settings)
    assert env["COMMUNE_MONITOR_ADMIN_TOKEN"] == "admin-secret"  # the secret itself, not ***
    assert env["COMMUNE_MONITOR_DATABASE_URL"] == f"sqlite:///{tmp_path / 'store.db'}"
    assert env["COMMUNE_MONITOR_DATA_DIR"] == str(tmp_path)
    assert env["COMMUNE_MONITOR_ALERTS_CALENDAR_FILE"] == str(tmp_path / "c.yaml")
    # No silence sweep while history is written.
    assert env["COMMUNE_MONITOR_ALERTS_SWEEP_SECONDS"] == str(24 * 3600)
    assert "COMMUNE_MONITOR_HOST" not in env
    assert "COMMUNE_MONITOR_PORT" not in env
    assert all(value != "None" for value in env.values())


async def test_work_done_first_gives_its_result() -> None:
    async def work() -> int:
        return 42

    assert await until_stopped(work(), asyncio.Event()) == 42


async def test_a_stop_first_cancels_the_work() -> None:
    never = asyncio.Event()
    cancelled = asyncio.Event()

    async def work() -> int:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 1

    stop = asyncio.Event()
    stop.set()
    assert await until_stopped(work(), stop) is None
    assert cancelled.is_set()


async def test_an_empty_journal_is_processed_at_once(engine: Engine) -> None:
    told: list[tuple[int, int]] = []
    assert await processed(engine, lambda done, total: told.append((done, total)))
    assert told == [(0, 1)]


def _dead_child() -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait(timeout=30)
    return child


async def test_a_child_that_stops_while_starting_is_reported() -> None:
    child = await asyncio.to_thread(_dead_child)
    with pytest.raises(HistoryError, match="stopped while starting"):
        await wait_ready(f"http://127.0.0.1:{free_port()}", [child])


def test_a_child_is_stopped_by_its_pid_with_its_signal() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        stop_child(child, signal.SIGTERM)
        assert child.returncode == -signal.SIGTERM
        stop_child(child, signal.SIGTERM)  # already stopped: nothing to do
        assert child.returncode == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
