"""What ``commune-agent check`` and ``status`` print: values in units a technician reads, tables.

Rendering only: the commands in ``agent.cli`` gather the runs and the status data and pass them
here; output goes through ``typer.echo`` like every CLI line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from agent.vntime import VN_TZ

if TYPE_CHECKING:
    from agent.check_run import CheckRun

_UNITS_SUFFIX = {"celsius": "°C", "percent": "%", "hours": "h", "days": "days"}


def human_bytes(value: float) -> str:
    """A byte count in binary units: ``512 B``, ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_seconds(value: float) -> str:
    """A duration as read at a glance: ``12.0 ms``, ``3.20 s``, ``2 d 3 h 4 min``."""
    if abs(value) < 1:
        return f"{value * 1000:.1f} ms"
    if abs(value) < 120:
        return f"{value:.2f} s"
    minutes, _ = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h {minutes} min" if days else f"{hours} h {minutes} min"


def format_value(name: str, unit: str | None, value: float) -> str:
    """A sample's value as a technician reads it: units, binary sizes, local times."""
    if name.endswith("_time_seconds") or name.endswith("_timestamp_seconds"):
        return datetime.fromtimestamp(value, VN_TZ).strftime("%Y-%m-%d %H:%M:%S +07")
    if unit == "bytes":
        return human_bytes(value)
    if unit == "bytes_per_second":
        return f"{human_bytes(value)}/s"
    if unit == "bits_per_second":
        return f"{value / 1e6:.1f} Mbit/s"
    if unit == "seconds":
        return human_seconds(value)
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "boolean":
        return "yes" if value >= 0.5 else "NO"
    if unit == "load":
        return f"{value:.2f}"
    if unit in _UNITS_SUFFIX:
        return f"{value:.1f} {_UNITS_SUFFIX[unit]}"
    return f"{value:g}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def print_runs(runs: list[CheckRun], source: str) -> None:
    """The table of figures, the events and a summary line per check."""
    from agent.catalogue import load_all

    catalogue = load_all()
    now = datetime.now(VN_TZ).strftime("%Y-%m-%d %H:%M:%S +07")
    typer.echo(f"commune-agent check — {now} — configuration: {source}\n")
    rows: list[list[str]] = []
    events: list[list[str]] = []
    for run in runs:
        for device in run.devices:
            for sample in device.samples:
                spec = catalogue.metric(sample.name)
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                value = format_value(sample.name, spec.unit if spec else None, sample.value)
                rows.append([run.name, device.device_id, sample.name, labels, value])
            for event in device.events:
                events.append(
                    [run.name, device.device_id, event.severity.value, event.type, event.message]
                )
    if rows:
        typer.echo(_table(["CHECK", "DEVICE", "METRIC", "LABELS", "VALUE"], rows))
    if events:
        typer.echo("\nEvents (sự kiện):")
        typer.echo(_table(["CHECK", "DEVICE", "SEVERITY", "EVENT", "MESSAGE"], events))
    typer.echo("\nSummary (tóm tắt):")
    for run in runs:
        samples = sum(len(d.samples) for d in run.devices)
        if run.ok:
            typer.echo(
                f"  {run.name} ({run.check}): OK — {samples} figures in "
                f"{run.duration_seconds:.2f} s"
            )
        else:
            typer.secho(
                f"  {run.name} ({run.check}): FAILED (LỖI) — {run.error}", fg=typer.colors.RED
            )


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    ago = (now - value).total_seconds()
    local = value.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S +07")
    return f"{local} ({human_seconds(max(ago, 0.0))} ago)"


def print_status(data: dict[str, Any]) -> None:
    """The status as aligned ``label  value`` lines."""
    now = datetime.now(UTC)

    def at(value: str | None) -> str:
        return _when(datetime.fromisoformat(value) if value else None, now)

    rows: list[list[str]] = [["data dir", data["data_dir"]]]
    identity = data["identity"]
    if identity:
        rows.append(["agent", f"{identity['agent_id']} (commune {identity['commune_code']})"])
        rows.append(["collector", identity["server_url"]])
    else:
        rows.append(["agent", f"NOT ENROLLED — {data.get('identity_error', '')}"])
    state = data["state"]
    etag = f", etag {state['config_etag']}" if state["config_etag"] else ""
    applied = at(state["config_applied_at"])
    rows.append(["configuration", f"{state['config_source']}{etag}, applied {applied}"])
    spool = data["spool"]
    if spool is None:
        rows.append(["spool", data.get("spool_error", "none yet (the service has not run)")])
    else:
        oldest = (
            f", oldest #{spool['oldest_seq']} measured {at(spool['oldest_measured_at'])}"
            if spool["oldest_seq"] is not None
            else ""
        )
        rows.append(
            ["spool", f"{spool['depth']} reports waiting ({human_bytes(spool['bytes'])}){oldest}"]
        )
        rows.append(
            [
                "sequences",
                f"next #{spool['next_seq']}, acknowledged up to #{spool['acked_seq']}",
            ]
        )
        rows.append(["dropped", f"{spool['dropped_total']} reports (spool size/age limits)"])
    rows.append(["last ack", at(state["last_ack_at"])])
    if state["last_send_error"]:
        rows.append(
            [
                "last send error",
                f"{state['last_send_error']} ({state['send_failures']} failures in a row, "
                f"last {at(state['last_send_error_at'])})",
            ]
        )
    else:
        rows.append(["last send error", "none"])
    if state["last_config_error"]:
        rows.append(
            [
                "last config error",
                f"{state['last_config_error']} ({at(state['last_config_error_at'])})",
            ]
        )
    else:
        rows.append(["last config error", "none"])
    errors = state["check_errors"]
    rows.append(
        ["check errors", "; ".join(f"{k}: {v}" for k, v in errors.items()) if errors else "none"]
    )
    if state["started_at"]:
        service = f"pid {state['pid']}, started {at(state['started_at'])}"
        if state.get("previous_stop"):
            service += f" (previous run: {state['previous_stop']})"
        if state.get("stopped_at"):
            service += f"; stopped {at(state['stopped_at'])} ({state.get('stop_reason')})"
        rows.append(["service", service])
    width = max(len(r[0]) for r in rows)
    typer.echo("\n".join(f"{label.ljust(width)}  {value}" for label, value in rows))
