"""The console built from a collector service: its store, clock, ticket desk and routing."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from inventory.reports import InventoryConfig
from web.pages import PREFIX, Console, console_router

if TYPE_CHECKING:
    from collector.service import CollectorService

# As the alert rules' default: an agent is silent after 1.5 heartbeats without a report.
DEFAULT_SILENCE_FACTOR = 1.5


def console_for(service: CollectorService) -> Console:
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
    )


def web_routers(service: CollectorService) -> list[APIRouter]:
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
