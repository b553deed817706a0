"""InfluxDB line protocol for processed reports: measurement ``cm_device``, one field per sample.

VictoriaMetrics joins measurement and field with ``_``, giving the series ``cm_device_<name>``
that ``/metrics`` exposes (collector/exposition.py), so one set of PromQL queries serves both.
"""

from __future__ import annotations

from datetime import UTC, datetime

from collector.processor import StoredReport

MEASUREMENT = "cm_device"


def _escape_tag(value: str) -> str:
    # Line protocol: commas, equals signs and spaces in tag keys/values are backslash-escaped;
    # line breaks cannot be represented, so they become spaces (printer descriptions have some).
    if any(c in value for c in ", =\\\n\r"):
        value = (
            value.replace("\n", " ")
            .replace("\r", " ")
            .replace("\\", "\\\\")
            .replace(",", "\\,")
            .replace("=", "\\=")
            .replace(" ", "\\ ")
        )
    return value


def _timestamp_ms(measured_at: datetime) -> int:
    if measured_at.tzinfo is None:
        measured_at = measured_at.replace(tzinfo=UTC)
    return round(measured_at.timestamp() * 1000)


def format_report(report: StoredReport, province: str) -> list[str]:
    """Line-protocol lines (ms timestamps) for every sample of one stored report."""
    ts = _timestamp_ms(report.measured_at)
    lines: list[str] = []
    head = f"{MEASUREMENT},commune_code={_escape_tag(report.commune_code)}"
    if province:
        # An empty tag value is invalid line protocol; Prometheus treats it as absent anyway.
        head += f",province={_escape_tag(province)}"
    for device in report.data["devices"]:
        device_id, kind = _escape_tag(device["device_id"]), _escape_tag(device["kind"])
        base = f"{head},device_id={device_id},kind={kind}"
        for sample in device["samples"]:
            labels: dict[str, str] | None = sample.get("labels")
            tags = base
            if labels:
                tags += "".join(
                    f",{_escape_tag(key)}={_escape_tag(value)}"
                    for key, value in labels.items()
                    if value != ""
                )
            # Ingest refuses NaN and infinities, so repr() is a valid float literal; a float
            # field (never an integer "i" field) keeps one type per field across reports.
            lines.append(f"{tags} {_escape_tag(sample['name'])}={float(sample['value'])!r} {ts}")
    return lines
