"""One commune's page: devices, reporting chart, open tickets, availability, a device's history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup

from alerts import tickets
from alerts.availability import commune_availability
from web.charts import bars, line, scale_top
from web.commune import CommuneDetail, commune_detail, reporting_by_hour
from web.history import SPANS, Span, device_history
from web.i18n import local_time
from web.routes.context import OVERVIEW_ROLES
from web.routes.http import Pages, family_router

Chart = tuple[str, str, Markup]


def reporting_chart(series: list[tuple[datetime, float | None]], t: Callable[..., str]) -> Markup:
    """The last 24 hours' bars: the share of expected reports that arrived, hour by hour."""
    titles = [
        f"{local_time(hour)}: " + (f"{value * 100:.0f} %" if value is not None else t("no_data"))
        for hour, value in series
    ]
    return bars([value for _, value in series], titles, t("reporting_chart"))


def chosen_device(detail: CommuneDetail, asked: str | None) -> str | None:
    """The device whose history is shown: the one asked for if the commune has it, else the
    first PC (the counter's machine), else the first device."""
    known = [d.device_id for d in detail.devices]
    pcs = [d.device_id for d in detail.devices if d.kind == "pc"]
    return asked if asked in known else next(iter(pcs + known), None)


class CommunePages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    def history_charts(
        self, t: Callable[..., str], code: str, device: str, span: Span
    ) -> list[Chart]:
        """(metric, scale text, SVG) for each metric the device reported in the span."""
        console = self.console
        found = device_history(console.engine, code, device, console.clock.now(), span)
        if found is None:
            return []
        starts = found.bar_starts()
        charts = []
        for metric, values in found.series.items():
            if all(value is None for value in values):
                continue
            percent = metric in ("cpu", "memory", "disk")
            unit = "%" if percent else "ms"
            top = scale_top(values, 100.0 if percent else None)
            name = t(metric) if percent else t(f"history_{metric}")
            titles = [
                f"{local_time(at)}: "
                + (f"{value:.0f} {unit}" if value is not None else t("no_data"))
                for at, value in zip(starts, values, strict=True)
            ]
            charts.append((metric, f"{name} (0–{top:g} {unit})", line(values, titles, name, top)))
        return charts

    async def _sections(self, detail: CommuneDetail) -> dict[str, Any]:
        """The reporting series, open tickets and availability of the commune."""
        console = self.console
        engine, now = console.engine, console.clock.now()
        series = await run_in_threadpool(
            reporting_by_hour, engine, detail.code, now, console.heartbeat, console.calendar
        )
        open_tickets = await run_in_threadpool(
            tickets.list_tickets, engine, tickets.TicketFilter(commune_code=detail.code, limit=50)
        )
        availability = (
            await run_in_threadpool(
                commune_availability, engine, detail.code, now, console.calendar
            )
            if console.desk is not None
            else None
        )
        return {
            "series": series,
            "tickets": [x for x in open_tickets if x["state"] != "resolved"],
            "availability": availability,
        }

    async def commune_page(
        self, request: Request, code: str, device: str | None = None, span: str = "24h"
    ) -> Response:
        """GET /communes/{code}."""
        console, t = self.console, self.pages.t(request)
        session = await self.pages.require(request, OVERVIEW_ROLES)
        detail = await run_in_threadpool(
            commune_detail,
            console.engine,
            code[:5],
            console.clock.now(),
            console.silence,
            console.expectation,
            console.inventory.os_support,
        )
        if detail is None:
            raise self.pages.fail(request, session, 404, t("not_found"))
        sections = await self._sections(detail)
        device_id = chosen_device(detail, device)
        chosen_span: Span = "7d" if span == "7d" else "24h"
        history = (
            await run_in_threadpool(self.history_charts, t, detail.code, device_id, chosen_span)
            if device_id is not None
            else []
        )
        return self.pages.page(
            request,
            "commune.html",
            session,
            detail=detail,
            chart=reporting_chart(sections["series"], t),
            tickets=sections["tickets"],
            availability=sections["availability"],
            history=history,
            chosen_device=device_id,
            span=chosen_span,
            spans=list(SPANS),
            journal_days=f"{console.journal_days:g}",
            closed=not console.calendar.is_open(detail.code, console.clock.now()),
        )


def router(pages: Pages) -> APIRouter:
    """The commune page's route."""
    handlers = CommunePages(pages)
    routes = family_router()
    routes.add_api_route("/communes/{code}", handlers.commune_page, methods=["GET"])
    return routes
