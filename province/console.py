"""The console built from a province's service: its store, clock, ticket desk and routing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from alerts.calendar import load_calendar
from inventory.reports import InventoryConfig
from province.service import ProvinceService
from web.routes import PREFIX, Console, console_router

# As the alert rules' default: an agent is silent after 1.5 heartbeats without a report.
DEFAULT_SILENCE_FACTOR = 1.5


def console_for(service: ProvinceService) -> Console:
    """The console's view of one collector; the silence limit is the alert rules' own."""
    alerting = service.alerting
    factor = (
        alerting.rules.silence.heartbeat_factor if alerting is not None else DEFAULT_SILENCE_FACTOR
    )
    return Console(
        engine=service.engine,
        clock=service.clock,
        silence=timedelta(seconds=service.settings.heartbeat_seconds * factor),
        desk=alerting.engine.desk if alerting is not None else None,
        routing=alerting.routing if alerting is not None else None,
        inventory=InventoryConfig(),
        heartbeat=timedelta(seconds=service.settings.heartbeat_seconds),
        journal_days=service.settings.journal_retention_days,
        trusted_proxies=tuple(service.settings.web.trusted_proxies),
        calendar=alerting.engine.calendar if alerting is not None else load_calendar(),
        active_guards=_guards_of(service),
    )


def _guards_of(service: ProvinceService) -> Callable[[], dict[str, str]]:
    """The collector guards holding now in this process (none where alerting runs elsewhere)."""
    guards = service.alerting.engine.guards if service.alerting is not None else None
    if guards is None:
        return dict
    return lambda: dict(guards.active)


def web_routers(service: ProvinceService) -> list[APIRouter]:
    """The console's routes and a redirect from / to it."""
    root = APIRouter(include_in_schema=False)

    @root.get("/")
    async def to_console() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=303)

    # Ticket e-mails and webhooks link to {public_url}/tickets/{id} (alerts.text): open it here.
    @root.get("/tickets/{ticket_id}")
    async def ticket_link(ticket_id: int) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}", status_code=303)

    return [root, console_router(console_for(service))]
