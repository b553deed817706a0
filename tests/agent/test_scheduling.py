"""The service's apscheduler jobs: one per check, heartbeat, config poll; replaced on change."""

from __future__ import annotations

from agent.agent_config import AgentConfig
from agent.scheduling import JobSchedule


async def _nothing(*args: object) -> None:
    return None


def _config(heartbeat: float, **intervals: float) -> AgentConfig:
    return AgentConfig.model_validate(
        {
            "heartbeat_seconds": heartbeat,
            "checks": {
                name: {"check": "host", "interval_seconds": seconds}
                for name, seconds in intervals.items()
            },
        }
    )


async def test_jobs_follow_the_configuration_and_stop_with_the_schedule() -> None:
    schedule = JobSchedule(
        run_check=_nothing, heartbeat=_nothing, poll_config=_nothing, config_poll_seconds=300
    )
    assert schedule.jobs() == {}
    first = _config(30, a=15, b=60)
    schedule.start(first, paused=True)
    try:
        assert schedule.jobs() == {
            "check:a": 15.0,
            "check:b": 60.0,
            "heartbeat": 30.0,
            "config-poll": 300.0,
        }
        second = _config(45, b=120, c=10)
        schedule.reschedule(first, second)
        assert schedule.jobs() == {
            "check:b": 120.0,
            "check:c": 10.0,
            "heartbeat": 45.0,
            "config-poll": 300.0,
        }
    finally:
        schedule.shutdown()
    assert schedule.jobs() == {}
