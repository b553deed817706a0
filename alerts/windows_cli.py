"""``commune-monitor maintenance …``: declare, list and cancel maintenance windows and silences.

Registered by ``province.cli`` as a sub-app; each change is audited with ``cli:<user>`` (the
operating-system account running the command) as its author.
"""

from __future__ import annotations

import getpass
from datetime import datetime, time
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from agent.clock import SystemClock
from agent.vntime import VN_TZ, format_local
from alerts import windows
from alerts.errors import AlertsError
from alerts.windows import Scope, WindowSpec
from collector.cli_support import fail, store

app = typer.Typer(
    help="Bảo trì và tạm dừng cảnh báo: khai báo, xem, huỷ (maintenance windows and silences: "
    "while one covers a problem no ticket is raised and SLA clocks stop).",
    no_args_is_help=True,
)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name (a container without /etc/passwd entry)
        return "cli"


def _when(text: str, option: str) -> datetime:
    """``2026-12-12 22:00`` (Vietnam time) or an ISO time with its offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a time; use 2026-12-12 22:00 (Vietnam time)")
    return value if value.tzinfo is not None else value.replace(tzinfo=VN_TZ)


def _days(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        fail(f"--days: {text!r} is not a list of weekdays such as 6,7 (1 = Monday)")


@app.command("create")
def create_command(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why (shown on tickets and in the console).")],
    start: Annotated[str, typer.Option("--start", help="From, e.g. '2026-12-12 22:00' (VN).")],
    end: Annotated[str, typer.Option("--end", help="Until (a weekly window: its last day).")],
    kind: Annotated[str, typer.Option(help="maintenance (planned work) or silence.")] = (
        "maintenance"
    ),
    weekly_days: Annotated[
        str | None,
        typer.Option("--days", help="Weekly on these ISO weekdays, e.g. 6,7 (1 = Monday)."),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Weekly: local start of each occurrence, 22:00.")
    ] = None,
    minutes: Annotated[int, typer.Option(help="Weekly: length of each occurrence.")] = 0,
    system: Annotated[list[str] | None, typer.Option(help="Central system id (repeat).")] = None,
    commune: Annotated[list[str] | None, typer.Option(help="Commune code (repeat).")] = None,
    device: Annotated[list[str] | None, typer.Option(help="Device id (repeat).")] = None,
    problem_class: Annotated[
        list[str] | None, typer.Option("--class", help="Problem class (repeat).")
    ] = None,
) -> None:
    """Declare a window; with no --system/--commune/--device/--class it covers everything."""
    fields: dict[str, Any] = {
        "kind": kind,
        "reason": reason,
        "starts_at": _when(start, "--start"),
        "ends_at": _when(end, "--end"),
        "scope": {
            "systems": system or [],
            "communes": commune or [],
            "devices": device or [],
            "problem_classes": problem_class or [],
        },
    }
    if weekly_days is not None or at is not None or minutes:
        local = None
        if at is not None:
            try:
                local = time.fromisoformat(at)
            except ValueError:
                fail(f"--at: {at!r} is not a time of day such as 22:00")
        fields.update(
            recurrence="weekly",
            weekdays=_days(weekly_days or ""),
            local_start=local,
            duration_minutes=minutes,
        )
    try:
        spec = WindowSpec.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "window"
        fail(f"{where}: {first['msg']}")
    with store(ctx) as engine, engine.begin() as conn:
        window = windows.create(conn, spec, _actor(), SystemClock().now())
    typer.echo(f"window #{window.id} declared ({window.spec.kind}): {window.spec.reason}")


@app.command("list")
def list_command(
    ctx: typer.Context,
    include_past: Annotated[bool, typer.Option(help="Also windows over or cancelled.")] = False,
) -> None:
    """Windows not over yet (newest first)."""
    with store(ctx) as engine, engine.connect() as conn:
        found = windows.current(conn, SystemClock().now(), include_past=include_past)
    for window in found:
        spec = window.spec
        when = f"{format_local(spec.starts_at)} → {format_local(spec.ends_at)}"
        if spec.recurrence == "weekly" and spec.local_start is not None:
            when += (
                f", weekly days {','.join(map(str, spec.weekdays))} at "
                f"{spec.local_start:%H:%M} for {spec.duration_minutes} min"
            )
        scope = (
            "; ".join(
                f"{key} {', '.join(values)}"
                for key, values in spec.scope.model_dump(exclude_defaults=True).items()
            )
            or "everything"
        )
        state = " (cancelled)" if window.cancelled_at else ""
        typer.echo(f"#{window.id} {spec.kind}{state}: {spec.reason} | {when} | {scope}")
    typer.echo(f"{len(found)} window(s)")


@app.command("cancel")
def cancel_command(ctx: typer.Context, window_id: int) -> None:
    """End window WINDOW_ID now."""
    try:
        with store(ctx) as engine, engine.begin() as conn:
            windows.cancel(conn, window_id, _actor(), SystemClock().now())
    except AlertsError as exc:
        fail(str(exc))
    typer.echo(f"window #{window_id} cancelled")


__all__ = ["Scope", "app"]
