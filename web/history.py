"""A device's last 24 hours or 7 days (CPU, memory, disk, software probe time, link RTT).

A PC's software probe time comes from its probes' own ``service`` devices (``probe:<target>@<pc>``),
which the agent reports beside the PC in the same report.

The state store keeps only each device's latest samples (``device_state``); its history is in the
time-series database when one is configured (``influx_url``: VictoriaMetrics or InfluxDB), and
the console must work without one. What the store always has is the journal: every report as the
agent sent it, kept ``journal_retention_days`` (7 by default, so the 7-day chart is complete only
at that default or above). That is the source here.

Decoding every report of a week (20,160 at a 30 s heartbeat) would take seconds, so reports are
sampled evenly by their per-agent sequence number (``seq % stride == 0``), the stride chosen from
the number of reports in the span (a count first) so that about ``PER_BUCKET`` a bar are read
(and all of them when there are few: a newly enrolled agent's first reports). A short spike
between two samples can be missed, which is the TSDB's job (and Grafana's), not this page's. The
device's current agent is read: a PC that moved to another agent shows its history since then.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, select

from collector.journal import sampled_reports
from collector.schema import device_state

Span = Literal["24h", "7d"]
# Span → (length, bars): half-hour bars over a day, two-hour bars over a week.
SPANS: dict[Span, tuple[timedelta, int]] = {
    "24h": (timedelta(hours=24), 48),
    "7d": (timedelta(days=7), 84),
}
PER_BUCKET = 6
METRICS: tuple[str, ...] = ("cpu", "memory", "disk", "probe_ms", "rtt_ms")
# A PC's probes of central systems travel as ``service`` devices of their own, with the device id
# ``probe:<target>@<pc>`` (agent/checks/common.py, path_device_id): they are the PC's history too.
PROBE_PREFIX = "probe:"


def measured_by(report_device_id: str, device_id: str) -> bool:
    """Whether a report's device is ``device_id`` itself or one of its probes."""
    return report_device_id == device_id or (
        report_device_id.startswith(PROBE_PREFIX) and report_device_id.endswith(f"@{device_id}")
    )


@dataclass(frozen=True, slots=True)
class History:
    """Per metric, one mean per bar (None: no sample), oldest first."""

    device_id: str
    span: Span
    start: datetime
    step: timedelta
    stride: int  # every stride-th report was read
    reports: int  # reports decoded
    series: dict[str, list[float | None]]

    def bar_starts(self) -> list[datetime]:
        """When each bar begins."""
        return [self.start + self.step * index for index in range(len(self.series["cpu"]))]


def _values(device: dict[str, Any]) -> dict[str, float]:
    """The charted numbers of one device in one report."""
    found: dict[str, list[float]] = {}
    for sample in device.get("samples", ()):
        name, value = sample["name"], float(sample["value"])
        labels = sample.get("labels") or {}
        if name == "cpu_percent":
            found.setdefault("cpu", []).append(value)
        elif name == "memory_used_percent":
            found.setdefault("memory", []).append(value)
        elif name == "disk_used_percent":
            found.setdefault("disk", []).append(value)
        elif name in ("probe_duration_seconds", "probe_phase_seconds"):
            if labels.get("phase") == "total":
                found.setdefault("probe_ms", []).append(value * 1000)
        elif name == "ping_rtt_seconds":
            found.setdefault("rtt_ms", []).append(value * 1000)
    # The fullest volume is the one that stops the PC; the probes' and pings' mean otherwise.
    return {
        key: max(values) if key == "disk" else statistics.fmean(values)
        for key, values in found.items()
    }


def device_history(
    engine: Engine, code: str, device_id: str, now: datetime, span: Span
) -> History | None:
    """The device's bars over ``span`` from the journal, or None if the commune has no such
    device."""
    length, bars = SPANS[span]
    start = now - length
    step = length / bars
    sums: dict[str, list[float]] = {key: [0.0] * bars for key in METRICS}
    counts: dict[str, list[int]] = {key: [0] * bars for key in METRICS}
    reports = 0
    with engine.connect() as conn:
        agent_id = conn.execute(
            select(device_state.c.agent_id).where(
                device_state.c.commune_code == code, device_state.c.device_id == device_id
            )
        ).scalar_one_or_none()
        if agent_id is None:
            return None
        sample = sampled_reports(conn, agent_id, start, now, bars * PER_BUCKET)
        stride = sample.stride
        for measured_at, report in sample:
            reports += 1
            index = min(bars - 1, int((measured_at - start) / step))
            for report_device in report["devices"]:
                if not measured_by(report_device["device_id"], device_id):
                    continue
                for key, value in _values(report_device).items():
                    sums[key][index] += value
                    counts[key][index] += 1
    series: dict[str, list[float | None]] = {
        key: [sums[key][i] / counts[key][i] if counts[key][i] else None for i in range(bars)]
        for key in METRICS
    }
    return History(device_id, span, start, step, stride, reports, series)
