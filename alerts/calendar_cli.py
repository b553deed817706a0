"""``commune-monitor calendar …``: show a commune's opening days, check a calendar file.

Registered by ``province.cli`` as a sub-app; the calendar is the setting ``alerts_calendar_file``
(default: the bundled ``alerts/calendar.yaml``) or the file given with ``--file``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from agent.clock import SystemClock
from agent.vntime import local_date
from alerts.calendar import WEEKDAY_EN, WEEKDAY_VI, WorkingCalendar, load_calendar
from alerts.errors import AlertsError
from collector.cli_support import fail, settings_of

app = typer.Typer(
    help="Lịch làm việc của các xã: giờ mở cửa, ngày lễ, ngày làm bù "
    "(working calendar: opening hours, public holidays, make-up days).",
    no_args_is_help=True,
)

FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="Calendar YAML to use instead of the configured one (alerts_calendar_file, "
        "default: the bundled alerts/calendar.yaml).",
    ),
]


def _calendar(ctx: typer.Context, file: Path | None) -> WorkingCalendar:
    try:
        return load_calendar(file or settings_of(ctx).alerts.calendar_file)
    except AlertsError as exc:
        fail(str(exc))


def _parse_day(text: str | None) -> date:
    if text is None:
        return local_date(SystemClock().now())
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    fail(f"--from: {text!r} is not a date; use 2026-12-07 or 07/12/2026")


@app.command("show")
def show_command(
    ctx: typer.Context,
    commune: Annotated[
        str | None,
        typer.Option(help="Commune code (5 digits); default: the province's own calendar."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (2026-12-07); default: today (VN).")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days to show.")] = 14,
    lang: Annotated[str, typer.Option(help="vi (default) or en.")] = "vi",
    file: FileOption = None,
) -> None:
    """Print the opening sessions of COMMUNE's next days, with holidays and make-up days."""
    if commune is not None and not (len(commune) == 5 and commune.isdigit()):
        fail(f"--commune: {commune!r} is not a 5-digit commune code")
    calendar = _calendar(ctx, file)
    first = _parse_day(start)
    english = lang == "en"
    names = WEEKDAY_EN if english else WEEKDAY_VI
    where = commune or ("the province" if english else "toàn tỉnh")
    typer.echo(
        f"{'Working calendar of' if english else 'Lịch làm việc của'} {where}: "
        f"{days} {'days from' if english else 'ngày từ'} {first:%d/%m/%Y}"
    )
    for offset in range(days):
        day = first + timedelta(days=offset)
        plan = calendar.day(commune, day)
        if plan.open:
            hours = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in plan.sessions)
            note = (
                (" (làm bù)" if not english else " (make-up working day)") if plan.make_up else ""
            )
            text = hours + note
        elif plan.reason == "cuối tuần":
            text = "weekend" if english else "nghỉ cuối tuần"
        else:
            text = f"{'closed' if english else 'nghỉ'}: {plan.reason}"
        typer.echo(f"  {names[day.weekday()]:<10} {day:%d/%m/%Y}  {text}")


@app.command("check")
def check_command(ctx: typer.Context, file: FileOption = None) -> None:
    """Validate the calendar file (errors name the field); prints what it holds."""
    calendar = _calendar(ctx, file)
    data = calendar.data
    typer.echo(
        f"{calendar.source}: ok — {len(data.opening_hours.weekdays)} weekday session(s), "
        f"grace {int(data.grace_after_opening.total_seconds() // 60)} min, "
        f"{len(data.make_up_days)} make-up day(s), {len(data.extra_days_off)} extra day(s) off, "
        f"{len(data.communes)} commune override(s)"
    )
