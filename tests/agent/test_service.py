"""The agent's service process (agent/service.py): the command line that replaces ``commune-agent
run`` carries the merged settings whole; the service refuses a bad launch argument and stops
with a reason when it has no identity."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agent import service
from tests.agent.support import agent_settings


def test_the_exec_command_carries_the_settings_whole(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, server_url="https://collector.example:8443", batch_size=17)
    command = service.exec_command(settings, 120.0)
    assert command[0] == sys.executable
    assert command[-3:-1] == ["-m", "agent.service"]
    # This interpreter's own options come between (none under plain pytest but -X/-W ones).
    assert all(option.startswith("-") for option in command[1:-3])
    launch = service.Launch.model_validate_json(command[-1])
    assert launch.settings == settings
    assert launch.max_seconds == 120.0
    forever = service.Launch.model_validate_json(service.exec_command(settings, None)[-1])
    assert forever.max_seconds is None


@pytest.mark.parametrize(
    "argv",
    [[], ["a", "b"], ["{not json"], ['{"settings": {}, "max_seconds": 0}']],
)
def test_a_bad_launch_argument_is_refused_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        service.main(argv)
    assert exited.value.code == service.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "agent.service is started by 'commune-agent run'" in err
    assert "invalid launch argument" in err


def test_without_an_identity_the_service_stops_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = agent_settings(tmp_path)
    assert service.run_service(settings, 1.0) == service.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "enrol" in err.lower() or str(settings.identity_path) in err
