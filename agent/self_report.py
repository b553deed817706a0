"""The agent's report about itself: heartbeat samples (spool, checks, own cost) and its events."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent.check_run import CheckRun
from agent.lifecycle import PreviousStop, StopReason, Uptime
from agent.spool import SpoolStats
from agent.wire import Event, Sample, Severity


def heartbeat_samples(
    stats: SpoolStats, runs: Mapping[str, CheckRun], now: datetime
) -> list[Sample]:
    """The heartbeat's samples of the spool and of the last run of each check."""
    samples = [
        Sample(name="agent_up", value=1.0),
        Sample(name="agent_spool_reports", value=stats.depth),
        Sample(name="agent_spool_bytes", value=stats.bytes),
        Sample(name="agent_spool_dropped_total", value=stats.dropped_total),
    ]
    if stats.oldest_measured_at is not None:
        age = max(0.0, (now - stats.oldest_measured_at).total_seconds())
        samples.append(Sample(name="agent_spool_oldest_age_seconds", value=age))
    for name, run in runs.items():
        labels = {"check": name[:200]}
        samples.append(Sample(name="agent_check_success", value=float(run.ok), labels=labels))
        samples.append(
            Sample(
                name="agent_check_duration_seconds",
                value=run.duration_seconds,
                labels=labels,
            )
        )
    return samples


class ProcessMeter:
    """The agent process's own memory and CPU time, through psutil when it is installed."""

    def __init__(self) -> None:
        self._process: Any = None

    def samples(self) -> list[Sample]:
        """Resident memory and CPU seconds of this process (nothing without psutil)."""
        # psutil is there on every PC install (the host check needs it); stay quiet without it.
        if self._process is None:
            try:
                import psutil
            except ImportError:
                self._process = False
                return []
            self._process = psutil.Process(os.getpid())
        if self._process is False:
            return []
        cpu = self._process.cpu_times()
        return [
            Sample(name="agent_resident_memory_bytes", value=self._process.memory_info().rss),
            Sample(name="agent_cpu_seconds_total", value=cpu.user + cpu.system),
        ]


def started_event(
    version: str,
    config_source: str,
    config_etag: str | None,
    *,
    previous_stop: PreviousStop,
    uptime: Uptime | None,
) -> Event:
    """``agent_started``: the service started, with its version, configuration, the OS boot
    time and uptime (absent when unknown), and how the previous run ended."""
    attrs = {
        "version": version,
        "config_source": config_source,
        "config_etag": config_etag or "",
        "previous_stop": previous_stop.value,
    }
    if uptime is not None:
        attrs["boot_time"] = uptime.boot_time_iso
        attrs["uptime_seconds"] = uptime.seconds_text
    return Event(type="agent_started", message=f"commune-agent {version} started", attrs=attrs)


def stopping_event(reason: StopReason, uptime: Uptime | None) -> Event:
    """``agent_stopping``: the goodbye of a clean stop, with its reason and the OS uptime then.

    The collector reads the silence after it as expected (DESIGN.md invariant 6), not a fault.
    """
    attrs = {"reason": reason.value}
    if uptime is not None:
        attrs["uptime_seconds"] = uptime.seconds_text
    return Event(
        type="agent_stopping",
        severity=Severity.INFO,
        message=f"commune-agent stopping ({reason.value})",
        attrs=attrs,
    )


def check_failed_event(name: str, run: CheckRun) -> Event:
    """``agent_check_failed``: check ``name`` raised or overran its time limit."""
    error = run.error or ""
    return Event(
        type="agent_check_failed",
        severity=Severity.WARNING,
        message=f"{name}: {error}",
        attrs={
            "check": name,
            "error_class": run.error_class or "error",
            "detail": error[:500],
        },
    )


def config_rejected_event(detail: str, etag: str | None) -> Event:
    """``agent_config_rejected``: a central configuration was refused; ``detail`` says why."""
    return Event(
        type="agent_config_rejected",
        severity=Severity.WARNING,
        message=detail[:2000],
        attrs={"etag": (etag or "")[:100]},
    )
