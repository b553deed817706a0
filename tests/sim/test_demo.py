"""``commune-monitor demo`` as a user runs it: a process that serves, ingests, stops on Ctrl-C."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.services import free_port

DEADLINE_SECONDS = 120.0


def _journal_rows(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0])
    except sqlite3.OperationalError:  # Not migrated yet.
        return 0
    finally:
        conn.close()


def _wait_for(condition: object, what: str, proc: subprocess.Popen[bytes], out: Path) -> None:
    """Poll a process-readiness condition until the deadline (waiting for work, not for time)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"demo exited early:\n{out.read_text()}"
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{out.read_text()}")


def test_demo_serves_ingests_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "demo"
    out = tmp_path / "out.txt"
    command = [
        sys.executable,
        "-m",
        "province",
        "demo",
        "--communes",
        "3",  # The default scenario strikes the first three communes.
        "--backfill-days",
        "1",
        "--speed",
        "60",
        "--port",
        str(port),
        "--data-dir",
        str(data),
    ]
    with out.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _wait_for(ready, "/readyz", proc, out)
        db = data / "commune-monitor.db"
        # One day of hourly history for each agent, then live reports on top of it.
        _wait_for(lambda: "Ctrl-C" in out.read_text(), "the live run", proc, out)
        after_backfill = _journal_rows(db)
        assert after_backfill >= 24
        _wait_for(lambda: _journal_rows(db) > after_backfill + 20, "live reports", proc, out)
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert "cm_device_cpu_percent{" in metrics
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.read_text()
    assert code == 0, text
    assert f"http://127.0.0.1:{port}" in text
    assert "Đã dừng / stopped." in text
    # It said what will happen when, from the most recent Friday 15:30: which faults should
    # raise a ticket and which should not.
    assert "T6/Fri 15:30" in text
    assert "no ticket (declared maintenance window)" in text
    assert "no ticket (outside opening hours)" in text
    assert "closing: PCs shut down" in text
    # The collector and the simulated PCs share the calendar with the Saturday commune.
    assert "saturday_morning: true" in (data / "calendar.yaml").read_text(encoding="utf-8")
    assert (data / "register.csv").stat().st_size > 0
    # The port is free again: nothing was left running.
    with httpx.Client() as client:
        try:
            client.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            listening = True
        except httpx.TransportError:
            listening = False
    assert not listening


def test_demo_refuses_a_start_it_cannot_read_and_teaches_its_options(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from province.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["demo", "--start", "tomorrow", "--data-dir", str(tmp_path / "d"), "--port", "0"]
    )
    assert result.exit_code == 2
    assert "--start 'tomorrow' is not 'now' nor a time" in result.output
    assert not (tmp_path / "d").exists()  # refused before anything was made
    shown = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).output
    for option in ("--start", "--speed", "--quiet-speed", "--scenario"):
        assert option in shown
    assert "most recent Friday" in shown


def test_demo_refuses_a_folder_it_did_not_create(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from province.cli import app

    precious = tmp_path / "mine" / "notes.txt"
    precious.parent.mkdir()
    precious.write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(precious.parent), "--port", "0"])
    assert result.exit_code == 2
    assert "was not made by 'commune-monitor demo'" in result.output
    assert precious.read_text(encoding="utf-8") == "keep me"
