"""``commune-agent run`` as a real process against ``commune-monitor serve`` on loopback.

These run on the real clock, with a central config of 1 s intervals so a few seconds are enough;
``wait_until`` polls the other processes' progress, it does not wait for time to pass.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from agent.identity import Identity, enrol, save_identity
from agent.spool import Spool
from agent.wire import Event
from tests.agent.checks.helpers import silent_listener
from tests.agent.support import (
    AgentProcess,
    CollectorProcess,
    enrol_token,
    journal_rows,
    wait_until,
)

FAST = {"heartbeat_seconds": 1, "checks": {"host": {"check": "host", "interval_seconds": 1}}}
ENV = {"COMMUNE_AGENT_SEND_DELAY_SECONDS": "0", "COMMUNE_AGENT_DEVICE_ID": "quay-1"}

pytestmark = pytest.mark.slow


def _events(engine: Engine, agent_id: str, kind: str) -> int:
    return sum(
        1
        for _, _, report in journal_rows(engine, agent_id)
        for device in report.devices
        for event in device.events
        if event.type == kind
    )


def _assert_all_arrived_once(engine: Engine, agent_id: str, spool_path: Path) -> int:
    spool = Spool(spool_path, readonly=True)
    try:
        stats = spool.stats()
    finally:
        spool.close()
    seqs = [seq for seq, _, _ in journal_rows(engine, agent_id)]
    numbered = stats.next_seq - 1
    # Every report the agent ever numbered is in the journal once, and the spool is empty.
    assert sorted(seqs) == list(range(1, numbered + 1))
    assert stats.depth == 0
    assert stats.dropped_total == 0
    return numbered


async def _enrolled(engine: Engine, collector: CollectorProcess, data_dir: Path) -> str:
    identity = await enrol(
        collector.url, enrol_token(engine), path=data_dir / "identity.json", hostname="quay-1"
    )
    collector.put_config(identity.agent_id, FAST)
    return identity.agent_id


async def test_kill_9_then_restart_loses_and_duplicates_nothing(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    (tmp_path / "collector").mkdir()
    collector = CollectorProcess(store_url, tmp_path / "collector")
    agent = AgentProcess(tmp_path / "agent", ENV)
    (tmp_path / "agent").mkdir()
    collector.start()
    try:
        agent_id = await _enrolled(engine, collector, tmp_path / "agent")
        agent.start()
        wait_until(lambda: len(journal_rows(engine, agent_id)) >= 6, 60, "reports at the collector")
        # No cleanup, no final send: whatever was in flight is cut.
        agent.kill()
        killed_at = len(journal_rows(engine, agent_id))

        agent.start()
        wait_until(
            lambda: (
                _events(engine, agent_id, "agent_started") == 2
                and len(journal_rows(engine, agent_id)) >= killed_at + 3
            ),
            60,
            "the restarted agent's reports",
        )
        assert agent.terminate() == 0
    finally:
        if agent.alive():
            agent.kill()
        collector.stop()
    numbered = _assert_all_arrived_once(engine, agent_id, tmp_path / "agent" / "spool.db")
    assert numbered >= killed_at + 3


async def test_collector_down_then_back_every_report_arrives_once(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    (tmp_path / "collector").mkdir()
    (tmp_path / "agent").mkdir()
    collector = CollectorProcess(store_url, tmp_path / "collector")
    agent = AgentProcess(tmp_path / "agent", ENV)
    spool_path = tmp_path / "agent" / "spool.db"
    collector.start()
    try:
        agent_id = await _enrolled(engine, collector, tmp_path / "agent")
        agent.start()
        wait_until(lambda: len(journal_rows(engine, agent_id)) >= 3, 60, "first reports")
        collector.stop()

        def spooled() -> int:
            spool = Spool(spool_path, readonly=True)
            try:
                return spool.stats().depth
            finally:
                spool.close()

        # The agent keeps measuring while the collector is away.
        wait_until(lambda: spooled() >= 4, 60, "reports piling up in the spool")
        assert agent.alive()
        stored_before = len(journal_rows(engine, agent_id))

        collector.start()  # same port, same store
        # Stopping the agent sends what is left before it exits (the backoff may still be
        # running; the final send does not wait for it).
        assert agent.terminate() == 0
    finally:
        if agent.alive():
            agent.kill()
        collector.stop()
    numbered = _assert_all_arrived_once(engine, agent_id, spool_path)
    assert numbered >= stored_before + 4
    log = (tmp_path / "agent" / "agent.log").read_text()
    assert "send failed; reports stay in the spool" in log


def _last_event(engine: Engine, agent_id: str) -> Event:
    _, _, report = journal_rows(engine, agent_id)[-1]
    [event] = [event for device in report.devices for event in device.events]
    return event


def _started(engine: Engine, agent_id: str) -> list[Event]:
    return [
        event
        for _, _, report in journal_rows(engine, agent_id)
        for device in report.devices
        for event in device.events
        if event.type == "agent_started"
    ]


async def test_sigterm_and_ctrl_c_send_the_goodbye_and_the_next_start_tells_how_it_ended(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    (tmp_path / "collector").mkdir()
    (tmp_path / "agent").mkdir()
    collector = CollectorProcess(store_url, tmp_path / "collector")
    agent = AgentProcess(tmp_path / "agent", ENV)
    collector.start()

    def start(n: int) -> None:
        agent.start()
        wait_until(lambda: len(_started(engine, agent_id)) == n, 60, f"agent start {n}")

    try:
        agent_id = await _enrolled(engine, collector, tmp_path / "agent")
        start(1)
        # systemctl stop: the goodbye is at the collector when the process has exited.
        assert agent.terminate() == 0
        goodbye = _last_event(engine, agent_id)
        assert (goodbye.type, goodbye.attrs["reason"]) == ("agent_stopping", "service_stop")
        assert goodbye.message == "commune-agent stopping (service_stop)"
        assert int(goodbye.attrs["uptime_seconds"]) > 0

        start(2)
        # Ctrl+C in a console.
        assert agent.interrupt() == 0
        goodbye = _last_event(engine, agent_id)
        assert (goodbye.type, goodbye.attrs["reason"]) == ("agent_stopping", "interrupted")

        start(3)
        agent.kill()  # no goodbye
        start(4)
        assert agent.terminate() == 0
    finally:
        if agent.alive():
            agent.kill()
        collector.stop()
    hellos = _started(engine, agent_id)
    assert [e.attrs["previous_stop"] for e in hellos] == [
        "first_start",
        "clean",
        "clean",
        "unclean",
    ]
    boot_times = {datetime.fromisoformat(e.attrs["boot_time"]) for e in hellos}
    # One boot of this machine, reported the same by every start.
    assert len(boot_times) == 1
    assert _last_event(engine, agent_id).type == "agent_stopping"
    _assert_all_arrived_once(engine, agent_id, tmp_path / "agent" / "spool.db")


def test_a_stopping_agent_process_does_not_wait_for_a_hanging_collector(tmp_path: Path) -> None:
    data = tmp_path / "agent"
    with silent_listener() as port:
        save_identity(
            data / "identity.json",
            Identity(
                agent_id="ag_hang",
                agent_token=SecretStr("agt_not_a_real_token"),
                # It takes the connections and never answers: every send hangs (30 s timeout).
                server_url=f"http://127.0.0.1:{port}",
                commune_code="14281",
                enrolled_at=datetime.now(UTC),
            ),
        )
        agent = AgentProcess(data, {**ENV, "COMMUNE_AGENT_STOP_SEND_SECONDS": "1"})
        agent.start()
        try:
            wait_until(lambda: _spooled(data / "spool.db") >= 2, 60, "the agent's first reports")
            started = time.monotonic()
            assert agent.terminate() == 0
            took = time.monotonic() - started
        finally:
            if agent.alive():
                agent.kill()
    # The 1 s budget and the process's own exit, far from the collector timeout of 30 s.
    assert took < 5
    spool = Spool(data / "spool.db", readonly=True)
    try:
        reports = spool.pending(1_000)
    finally:
        spool.close()
    kinds = [e.type for r in reports for d in r.devices for e in d.events]
    assert kinds[0] == "agent_started"
    assert kinds[-1] == "agent_stopping"
    assert reports[-1].devices[0].events[0].attrs["reason"] == "service_stop"


def _spooled(path: Path) -> int:
    if not path.exists():
        return 0
    spool = Spool(path, readonly=True)
    try:
        return spool.stats().depth
    except sqlite3.OperationalError:
        return 0  # the agent made the file and has not created its tables yet
    finally:
        spool.close()
