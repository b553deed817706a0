"""``commune-monitor report monthly|quarterly``: the official report written to a PDF or XLSX file.

The format comes from the file's suffix. The figures are the console's and the API's
(``alerts.official_report``), read from the store the global options name, with the routing and
working calendar of the settings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from agent.clock import SystemClock
from alerts.calendar import load_calendar
from alerts.errors import AlertsError
from alerts.official_report import gather
from alerts.report_period import Period, PeriodError, parse_month, parse_quarter
from alerts.routing import load_routing
from collector.cli_support import fail, settings_of, store
from web.report_files import ReportFormatError, format_of, report_bytes

app = typer.Typer(
    help="Báo cáo định kỳ cho UBND tỉnh và Sở Tài chính (official monthly and quarterly reports: "
    "availability, incidents, SLA per owner) as PDF or XLSX.",
    no_args_is_help=True,
)

OutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="File to write; its suffix chooses the format: .pdf or .xlsx. Overwritten if it "
        "exists.",
    ),
]
LangOption = Annotated[
    str, typer.Option("--lang", help="Language of the file: vi (default) or en.")
]


def _write(ctx: typer.Context, period: Period, out: Path, lang: str) -> None:
    if lang not in ("vi", "en"):
        fail(f"--lang: {lang!r} is not one of vi, en")
    try:
        fmt = format_of(out, "--out")
    except ReportFormatError as exc:
        fail(str(exc))
    settings = settings_of(ctx)
    try:
        routing = load_routing(settings.alerts.routing_file)
        calendar = load_calendar(settings.alerts.calendar_file)
    except AlertsError as exc:
        fail(str(exc))
    language: Literal["vi", "en"] = "vi" if lang == "vi" else "en"
    started = time.monotonic()
    typer.echo(f"reading the store for {period.label} …", err=True)
    with store(ctx) as engine:
        report = gather(engine, period, SystemClock().now(), calendar, routing)
    typer.echo(
        f"{len(report.communes)} communes, {report.tickets_opened} tickets; writing {fmt} …",
        err=True,
    )
    data = report_bytes(report, fmt, language)
    try:
        out.write_bytes(data)
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc.strerror}")
    typer.echo(f"wrote {out} ({len(data):,} bytes) in {time.monotonic() - started:.1f} s")


@app.command("monthly")
def monthly(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (Vietnam time).")],
    out: OutOption,
    lang: LangOption = "vi",
) -> None:
    """Write the report of one month to --out (PDF or XLSX)."""
    try:
        period = parse_month(month, "--month")
    except PeriodError as exc:
        fail(str(exc))
    _write(ctx, period, out, lang)


@app.command("quarterly")
def quarterly(
    ctx: typer.Context,
    quarter: Annotated[
        str, typer.Option("--quarter", help="The quarter, YYYY-Qn, e.g. 2026-Q1 (Vietnam time).")
    ],
    out: OutOption,
    lang: LangOption = "vi",
) -> None:
    """Write the report of one quarter to --out (PDF or XLSX)."""
    try:
        period = parse_quarter(quarter, "--quarter")
    except PeriodError as exc:
        fail(str(exc))
    _write(ctx, period, out, lang)
