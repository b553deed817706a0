"""``commune-agent run`` as a real process against ``commune-monitor serve`` on loopback.

These run on the real clock, with a central config of 1 s intervals so a few seconds are enough;
``wait_until`` polls the other processes' progress, it does not wait for time to pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from agent.identity import enrol
from agent.spool import Spool
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
