"""The agent's state and cached configuration files (agent/state.py): written whole, read back,
and a missing, unreadable or no longer valid file read as nothing rather than a crash."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.agent_config import AgentConfig, CheckSpec
from agent.state import (
    AgentState,
    CachedConfig,
    load_cached_config,
    load_state,
    save_cached_config,
    save_state,
)

NOW = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize("durable", [False, True])
def test_the_state_is_written_whole_and_read_back(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "data" / "state.json"
    state = AgentState(pid=812, started_at=NOW, send_failures=3, check_errors={"snmp": "timeout"})
    save_state(path, state, durable=durable)
    assert load_state(path) == state
    assert json.loads(path.read_text())["check_errors"] == {"snmp": "timeout"}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary file left


def test_a_missing_or_broken_state_file_is_a_fresh_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert load_state(tmp_path / "none.json") == AgentState()
    broken = tmp_path / "state.json"
    broken.write_text('{"pid": "not a number"')
    with caplog.at_level(logging.WARNING, logger="agent.state"):
        assert load_state(broken) == AgentState()
    assert "state file unreadable" in caplog.text
    # Fields of another version are ignored, not refused.
    broken.write_text('{"pid": 7, "from_a_later_version": true}')
    assert load_state(broken).pid == 7


def test_the_cached_configuration_round_trips_with_its_etag(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    assert load_cached_config(path) is None
    cached = CachedConfig(
        etag="abc123",
        config=AgentConfig(heartbeat_seconds=90.0, checks={"host": CheckSpec(check="host")}),
    )
    save_cached_config(path, cached)
    assert load_cached_config(path) == cached


def test_a_cached_configuration_no_longer_valid_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config.json"
    # E.g. a check this agent version no longer has.
    path.write_text(
        json.dumps({"etag": "x", "config": {"checks": {"gone": {"check": "no_such_check"}}}})
    )
    with caplog.at_level(logging.WARNING, logger="agent.state"):
        assert load_cached_config(path) is None
    assert "cached central config is not valid" in caplog.text
