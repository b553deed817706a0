"""The agent's report about itself: heartbeat samples and its own events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.check_run import CheckRun
from agent.lifecycle import PreviousStop, StopReason, Uptime
from agent.self_report import (
    ProcessMeter,
    check_failed_event,
    config_rejected_event,
    heartbeat_samples,
    started_event,
    stopping_event,
)
from agent.spool import SpoolStats
from agent.wire import DeviceKind, DeviceReport, Severity
from tests.agent.checks.helpers import assert_catalogued

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _stats(**changes: object) -> SpoolStats:
    values: dict[str, object] = {
        "depth": 3,
        "bytes": 4096,
        "oldest_seq": 7,
        "oldest_measured_at": NOW - timedelta(minutes=5),
        "next_seq": 10,
        "acked_seq": 6,
        "dropped_total": 1,
    }
    values.update(changes)
    return SpoolStats(**values)  # type: ignore[arg-type]


def test_heartbeat_says_up_spool_and_each_checks_last_run() -> None:
    runs = {
        "host": CheckRun("host", "host", NOW, 0.25),
        "signing": CheckRun("signing", "signing", NOW, 3.0, error="boom", error_class="error"),
    }
    samples = {
        (s.name, s.labels.get("check")): s.value for s in heartbeat_samples(_stats(), runs, NOW)
    }
    assert samples[("agent_up", None)] == 1.0
    assert samples[("agent_spool_reports", None)] == 3
    assert samples[("agent_spool_oldest_age_seconds", None)] == 300.0
    assert samples[("agent_spool_dropped_total", None)] == 1
    assert samples[("agent_check_success", "host")] == 1.0
    assert samples[("agent_check_success", "signing")] == 0.0
    assert samples[("agent_check_duration_seconds", "signing")] == 3.0
    empty = heartbeat_samples(_stats(oldest_measured_at=None), {}, NOW)
    assert "agent_spool_oldest_age_seconds" not in {s.name for s in empty}


def test_the_process_meter_measures_this_process() -> None:
    samples = {s.name: s.value for s in ProcessMeter().samples()}
    assert samples["agent_resident_memory_bytes"] > 1_000_000
    assert samples["agent_cpu_seconds_total"] > 0


def test_the_agents_own_events_carry_what_went_wrong() -> None:
    run = CheckRun("host", "host", NOW, 1.0, error="x" * 900, error_class="timeout")
    failed = check_failed_event("host", run)
    assert failed.type == "agent_check_failed"
    assert failed.attrs["error_class"] == "timeout"
    assert len(failed.attrs["detail"]) == 500
    rejected = config_rejected_event("checks.x: unknown check 'y'", '"e1"')
    assert (rejected.type, rejected.attrs) == ("agent_config_rejected", {"etag": '"e1"'})
    boot = Uptime.at(NOW, (NOW - timedelta(minutes=10, seconds=0.4)).timestamp())
    started = started_event(
        "0.1.0", "central", None, previous_stop=PreviousStop.UNCLEAN, uptime=boot
    )
    assert started.attrs == {
        "version": "0.1.0",
        "config_source": "central",
        "config_etag": "",
        "previous_stop": "unclean",
        "boot_time": "2026-03-02T00:49:59+00:00",
        "uptime_seconds": "600",
    }
    # Without a boot time (psutil failed) the event still goes, without the two attributes.
    bare = started_event(
        "0.1.0", "default", None, previous_stop=PreviousStop.FIRST_START, uptime=None
    )
    assert set(bare.attrs) == {"version", "config_source", "config_etag", "previous_stop"}
    goodbye = stopping_event(StopReason.REBOOT, boot)
    assert (goodbye.type, goodbye.severity) == ("agent_stopping", Severity.INFO)
    assert goodbye.message == "commune-agent stopping (reboot)"
    assert goodbye.attrs == {"reason": "reboot", "uptime_seconds": "600"}
    assert stopping_event(StopReason.SHUTDOWN, None).attrs == {"reason": "shutdown"}
    assert_catalogued(
        [
            DeviceReport(
                device_id="quay-1",
                kind=DeviceKind.PC,
                events=[failed, rejected, started, bare, goodbye],
            )
        ]
    )
