"""The report form (issue 22): DOST, the hotline and commune staff turn what a person saw into a
ticket, or add it to the open ticket that already covers it ("đã có phiếu #18").

Thin: the form's fields are ``alerts.intake.ReportIn``'s, checked there; a bad field redraws the
form with a 422 naming it and keeps what was typed. Commune staff report for their communes only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from alerts.categories import bundled_categories
from alerts.intake import (
    Intake,
    ReportIn,
    ReportInvalid,
    commune_choices,
    commune_devices,
    report_problem,
)
from web.accounts import Session
from web.errors import BadForm
from web.routes.context import PREFIX
from web.routes.http import Pages, family_router
from web.routes.tickets import REPORTERS

FIELDS = (
    "commune_code",
    "category",
    "description",
    "message",
    "device_id",
    "counter",
    "reporter_name",
    "reporter_phone",
)


def report_of(form: dict[str, str]) -> ReportIn:
    """The posted form as a report; BadForm naming the first bad field."""
    fields: dict[str, Any] = {name: form.get(name, "") for name in FIELDS}
    for optional in ("device_id", "counter"):
        fields[optional] = fields[optional].strip() or None
    try:
        return ReportIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "report"
        raise BadForm(field, str(first["msg"]).removeprefix("Value error, ")) from None


class IntakePages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    async def _form(
        self,
        request: Request,
        session: Session,
        values: dict[str, str],
        status: int = 200,
        error: str | None = None,
        field: str | None = None,
    ) -> Response:
        engine, scope = self.console.engine, session.user.commune_scope
        choices = await run_in_threadpool(commune_choices, engine, scope)
        commune = values.get("commune_code") or (choices[0][0] if len(choices) == 1 else "")
        devices = (
            await run_in_threadpool(commune_devices, engine, commune)
            if commune in {code for code, _ in choices}
            else []
        )
        return self.pages.page(
            request,
            "report.html",
            session,
            status,
            values={**values, "commune_code": commune},
            communes=choices,
            devices=devices,
            categories=bundled_categories().items,
            error=error,
            field=field,
        )

    async def report_form(self, request: Request, commune: str | None = None) -> Response:
        """GET /report: the form (``?commune=`` lists that commune's devices)."""
        session = await self.pages.require(request, REPORTERS)
        return await self._form(request, session, {"commune_code": (commune or "")[:5]})

    async def report_submit(self, request: Request) -> Response:
        """POST /report: take the report, then show what became of it."""
        pages, t = self.pages, self.pages.t(request)
        session = await pages.require(request, REPORTERS)
        form = await pages.form_of(request, session)
        values = {name: form.get(name, "")[:4000] for name in FIELDS}
        desk = self.console.desk
        if desk is None:
            raise pages.fail(request, session, 409, t("desk_disabled"))
        try:
            report = report_of(form)
            intake: Intake = await run_in_threadpool(
                report_problem,
                self.console.engine,
                desk,
                report,
                session.user.username,
                "console",
                self.console.clock.now(),
                communes_allowed=session.user.commune_scope,
            )
        except BadForm as exc:
            message = t("bad_field", field=exc.field, message=exc.message)
            return await self._form(request, session, values, 422, message, exc.field)
        except ReportInvalid as exc:
            message = t("bad_field", field=exc.field, message=exc.reason)
            return await self._form(request, session, values, 422, message, exc.field)
        joined = "1" if intake.attached else "0"
        return RedirectResponse(
            f"{PREFIX}/report/done?ticket={intake.ticket_id}&joined={joined}", status_code=303
        )

    async def report_done(self, request: Request, ticket: str = "", joined: str = "") -> Response:
        """GET /report/done: the ticket the report opened or joined."""
        session = await self.pages.require(request, REPORTERS)
        number = int(ticket) if ticket.isascii() and ticket.isdigit() and len(ticket) < 19 else 0
        if number < 1:
            raise self.pages.fail(request, session, 404, self.pages.t(request)("not_found"))
        intake = Intake(number, 0, attached=joined == "1")
        return self.pages.page(request, "report_done.html", session, intake=intake)


def router(pages: Pages) -> APIRouter:
    """The report form's routes."""
    handlers = IntakePages(pages)
    routes = family_router()
    routes.add_api_route("/report", handlers.report_form, methods=["GET"])
    routes.add_api_route("/report", handlers.report_submit, methods=["POST"])
    routes.add_api_route("/report/done", handlers.report_done, methods=["GET"])
    return routes
