"""The console's routes under /web, one router module per page family.

``auth`` (login, logout, language, stylesheet), ``overview``, ``commune``, ``tickets``,
``fleet`` (register, reconciliation, assets, budget plan and its XLSX), ``reports`` (the monthly
and quarterly report for DOST and finance, XLSX or PDF) and ``accounts`` (users, audit log) each
hold thin handlers that check the session, call one function of ``web``, ``alerts.tickets``,
``alerts.official_report`` or ``inventory.reports`` and render a template. They share the
``Console`` (``context``) and the session, CSRF and rendering helpers (``http``).
"""

from __future__ import annotations

from fastapi import APIRouter

from web.routes import accounts, auth, commune, fleet, overview, reports, tickets
from web.routes.context import PREFIX, Console
from web.routes.http import ConsoleRoute, Pages

__all__ = ["PREFIX", "Console", "console_router"]

FAMILIES = (auth, overview, commune, tickets, fleet, reports, accounts)


def console_router(console: Console) -> APIRouter:
    """The /web routes of the console."""
    pages = Pages(console)
    # Each family's router carries the /web prefix itself (web.routes.http.family_router).
    router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
    for family in FAMILIES:
        router.include_router(family.router(pages))
    return router
