"""The ASGI application of one province: the collector's routes, then every feature's."""

from __future__ import annotations

from fastapi import FastAPI

from alerts.api import alerts_router, ticket_caller
from alerts.windows_api import API as WINDOWS_PREFIX
from alerts.windows_api import windows_router
from collector.api import admin_guard, create_collector_app
from collector.token_first import TokenRule
from inventory.api import PREFIX as INVENTORY_PREFIX
from inventory.api import inventory_router
from province.console import web_routers
from province.people import people_routers
from province.reports_api import reports_router
from province.service import ProvinceService
from web.accounts import is_vendor_user

# The register upload takes files up to max_body_bytes; every other route's body is small.
REGISTER_UPLOAD = f"{INVENTORY_PREFIX}/register"


def create_app(service: ProvinceService) -> FastAPI:
    """The collector's application with the register, tickets and console mounted."""
    settings = service.settings

    def vendor_user(user: str, owner: str) -> bool:
        # A vendor token works only while its console user is an enabled vendor user.
        return is_vendor_user(service.engine, user, owner)

    # Every API route with a body checks its token before the body is read.
    rules = [
        TokenRule(INVENTORY_PREFIX, admin_guard(settings)),
        TokenRule(WINDOWS_PREFIX, admin_guard(settings)),
    ]
    if service.alerting is not None:
        routing = service.alerting.engine.routing
        rules.append(
            TokenRule("/api/v1/tickets", ticket_caller(routing, settings.admin_token, vendor_user))
        )
    app = create_collector_app(service, large_body_routes=[REGISTER_UPLOAD], token_rules=rules)
    # Routers of the features come after the core routes: Starlette tries routes in order, and
    # the agents' POST /reports (the hot path) should not be matched against every page.
    # The asset register for finance, behind the admin token.
    app.include_router(
        inventory_router(
            service.engine,
            service.clock,
            admin_guard(settings),
            max_upload_bytes=settings.max_body_bytes,
            journal_days=settings.journal_retention_days,
        )
    )
    # Tickets: the admin token sees all, a vendor token its own tickets only.
    if service.alerting is not None:
        app.include_router(
            alerts_router(
                service.engine,
                service.clock,
                service.alerting.engine,
                settings.admin_token,
                vendor_user,
            )
        )
    # Maintenance windows and silences, admin token.
    app.include_router(windows_router(service.engine, service.clock, settings.admin_token))
    # Official reports (monthly, quarterly) for DOST's and finance's tools, admin token.
    app.include_router(reports_router(service))
    # The web console: people log in with sessions; machines keep their tokens.
    for router in web_routers(service):
        app.include_router(router)
    # People's side (issue 22): the report form and the pages of the answer links in messages.
    for router in people_routers(service):
        app.include_router(router)
    return app
