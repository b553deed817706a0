"""``GET /api/v1/reports/monthly`` and ``/quarterly``: the official report as JSON, XLSX or PDF,
behind the admin token (finance's and DOST's tools fetch it; people use the console's page).

Mounted by ``province.app.create_app``. Bad parameters answer 422 with the field named, as every
collector error does (``{"detail": ..., "field": "month"}``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool

from alerts.calendar import WorkingCalendar, load_calendar
from alerts.official_report import gather, to_json
from alerts.report_period import Period, PeriodError, parse_month, parse_quarter
from alerts.routing import Routing, load_routing
from collector.api import admin_guard
from collector.api_models import ErrorBody
from collector.errors import ReportRejected
from province.service import ProvinceService
from web.report_files import FORMATS, MEDIA_TYPES, ReportFormat, file_name, report_bytes

API = "/api/v1/reports"
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 422)}


def routing_and_calendar(service: ProvinceService) -> tuple[Routing | None, WorkingCalendar]:
    """The routing and calendar in force: the alerting's, else the configured files."""
    if service.alerting is not None:
        return service.alerting.routing, service.alerting.engine.calendar
    alerts = service.settings.alerts
    return load_routing(alerts.routing_file), load_calendar(alerts.calendar_file)


def _period(parse: Any, value: str | None, field: str) -> Period:
    if value is None:
        raise ReportRejected(f"field '{field}' is required", field=field)
    try:
        period: Period = parse(value, field)
    except PeriodError as exc:
        raise ReportRejected(str(exc), field=exc.field) from None
    return period


def _format(value: str) -> ReportFormat | None:
    if value == "json":
        return None
    for fmt in FORMATS:
        if value == fmt:
            return fmt
    raise ReportRejected(
        f"field 'format': {value[:20]!r} is not one of json, {', '.join(FORMATS)}", field="format"
    )


def reports_router(service: ProvinceService) -> APIRouter:
    """The /api/v1/reports routes of one collector."""
    router = APIRouter(
        prefix=API,
        tags=["reports"],
        dependencies=[Depends(admin_guard(service.settings))],
        responses=_ERRORS,
    )
    routing, calendar = routing_and_calendar(service)

    async def answer(period: Period, fmt_text: str, lang: str) -> Any:
        fmt = _format(fmt_text)
        if lang not in ("vi", "en"):
            raise ReportRejected(f"field 'lang': {lang[:10]!r} is not one of vi, en", field="lang")
        report = await run_in_threadpool(
            gather, service.engine, period, service.clock.now(), calendar, routing
        )
        if fmt is None:
            return to_json(report)
        data = await run_in_threadpool(report_bytes, report, fmt, "vi" if lang == "vi" else "en")
        return Response(
            data,
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{file_name(report, fmt)}"'},
        )

    @router.get("/monthly", summary="The report of one month (Vietnam time)")
    async def monthly(
        month: Annotated[str | None, Query(description="YYYY-MM, e.g. 2026-03")] = None,
        format: Annotated[str, Query(description="json, xlsx or pdf")] = "json",
        lang: Annotated[str, Query(description="vi or en (files only)")] = "vi",
    ) -> Any:
        """Availability, incidents by class, SLA per owner and the communes down longest."""
        return await answer(_period(parse_month, month, "month"), format, lang)

    @router.get("/quarterly", summary="The report of one quarter (Vietnam time)")
    async def quarterly(
        quarter: Annotated[str | None, Query(description="YYYY-Qn, e.g. 2026-Q1")] = None,
        format: Annotated[str, Query(description="json, xlsx or pdf")] = "json",
        lang: Annotated[str, Query(description="vi or en (files only)")] = "vi",
    ) -> Any:
        """The same figures over a quarter."""
        return await answer(_period(parse_quarter, quarter, "quarter"), format, lang)

    return router
