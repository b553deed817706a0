"""Official reports for DOST and finance: choose a month or a quarter, see its summary, download it
as XLSX or PDF (``alerts.official_report`` computes, ``web.report_files`` writes)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from alerts.official_report import OfficialReport, gather
from alerts.report_period import KINDS, Period, PeriodError, containing, last_complete, parse_period
from web import accounts
from web.accounts import Role
from web.errors import BadForm
from web.i18n import Lang
from web.report_files import FORMATS, MEDIA_TYPES, ReportFormat, file_name, report_bytes
from web.routes.http import Pages, family_router, lang_of

REPORT_ROLES = frozenset({Role.ADMIN, Role.DOST, Role.FINANCE})
QUARTERS_SHOWN = 8  # the quarter list offers the current one and the seven before it


def period_of(kind: str, month: str, quarter: str) -> Period:
    """The period a form names; refused naming the field (kind, month, quarter)."""
    try:
        return parse_period(kind, quarter if kind == "quarter" else month)
    except PeriodError as exc:
        raise BadForm(exc.field, exc.reason) from None


def hours_text(value: timedelta, lang: Lang) -> str:
    """A duration in hours with two decimals, as the language writes them ('0,85')."""
    text = f"{value.total_seconds() / 3600:.2f}"
    return text.replace(".", ",") if lang == "vi" else text


def format_of_form(raw: str) -> ReportFormat:
    """The posted format; refused naming the field unless xlsx or pdf."""
    for fmt in FORMATS:
        if raw == fmt:
            return fmt
    raise BadForm("format", f"{raw[:20]!r} is not one of {', '.join(FORMATS)}")


class ReportPages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    async def _report(self, period: Period) -> OfficialReport:
        console = self.console
        return await run_in_threadpool(
            gather, console.engine, period, console.clock.now(), console.calendar, console.routing
        )

    async def reports(
        self, request: Request, kind: str = "", month: str = "", quarter: str = ""
    ) -> Response:
        """GET /reports: the form, and the summary of the period chosen (last month by default)."""
        session = await self.pages.require(request, REPORT_ROLES)
        now = self.console.clock.now()
        if not kind:
            period = last_complete("month", now)
        else:
            try:
                period = period_of(kind, month, quarter)
            except BadForm as exc:
                raise self.pages.bad_form(request, session, exc) from None
        report = await self._report(period)
        current = containing("quarter", now)
        quarters = [current]
        for _ in range(QUARTERS_SHOWN - 1):
            quarters.append(quarters[-1].previous())
        month_value = period.label if period.kind == "month" else last_complete("month", now).label
        quarter_value = period.label if period.kind == "quarter" else quarters[1].label
        return self.pages.page(
            request,
            "reports.html",
            session,
            report=report,
            period=period,
            kinds=KINDS,
            formats=FORMATS,
            month=month_value,
            quarter=quarter_value,
            quarters=[q.label for q in quarters],
            hours=lambda value: hours_text(value, lang_of(request)),
        )

    async def report_file(self, request: Request) -> Response:
        """POST /reports/file: the period's report as XLSX or PDF, audited."""
        console = self.console
        session = await self.pages.require(request, REPORT_ROLES)
        form = await self.pages.form_of(request, session)
        try:
            period = period_of(form.get("kind", ""), form.get("month", ""), form.get("quarter", ""))
            fmt = format_of_form(form.get("format", ""))
        except BadForm as exc:
            raise self.pages.bad_form(request, session, exc) from None
        report = await self._report(period)
        lang = lang_of(request)
        data = await run_in_threadpool(report_bytes, report, fmt, lang)
        await run_in_threadpool(
            accounts.write_audit,
            console.engine,
            console.clock.now(),
            session.user.username,
            "report_exported",
            period.label,
            fmt,
        )
        return Response(
            data,
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{file_name(report, fmt)}"'},
        )


def router(pages: Pages) -> APIRouter:
    """The report routes."""
    handlers = ReportPages(pages)
    routes = family_router()
    routes.add_api_route("/reports", handlers.reports, methods=["GET"])
    routes.add_api_route("/reports/file", handlers.report_file, methods=["POST"])
    return routes
