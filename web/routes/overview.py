"""The province overview: every commune's status, filtered and sorted."""

from __future__ import annotations

from functools import partial
from typing import cast

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from web.province import SortKey, overview, select_communes
from web.routes.context import OVERVIEW_ROLES
from web.routes.http import Pages, family_router

SORT_KEYS = ("status", "name", "tickets", "code", "software", "availability")


class OverviewPages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    async def province_overview(
        self, request: Request, status: str | None = None, q: str = "", sort: str = "status"
    ) -> Response:
        """GET /overview: the communes, worst first by default."""
        console = self.console
        session = await self.pages.require(request, OVERVIEW_ROLES)
        data = await run_in_threadpool(
            partial(overview, with_availability=console.desk is not None),
            console.engine,
            console.clock.now(),
            console.expectation,
        )
        chosen_status = status if status in data.by_status else None
        chosen_sort = cast(SortKey, sort if sort in SORT_KEYS else "status")
        lines = select_communes(
            data.communes, status=chosen_status, query=q[:100], sort=chosen_sort
        )
        return self.pages.page(
            request,
            "overview.html",
            session,
            data=data,
            lines=lines,
            chosen=chosen_status,
            q=q[:100],
            sort=chosen_sort,
            owners=console.owners,
        )


def router(pages: Pages) -> APIRouter:
    """The overview's route."""
    handlers = OverviewPages(pages)
    routes = family_router()
    routes.add_api_route("/overview", handlers.province_overview, methods=["GET"])
    return routes
