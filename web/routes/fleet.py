"""Fleet and finance: the asset register against what agents discovered, one asset's page, and the
budget plan on the page or as an XLSX download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from agent.vntime import local_date
from inventory import money
from inventory.errors import InventoryError
from inventory.models import Asset
from inventory.os_support import OsPlan
from inventory.reconcile import reconcile, seen_devices
from inventory.reports import (
    ExportFormat,
    asset_detail,
    budget_plan,
    plan_export,
    unsupported_os_plan,
)
from inventory.store import count_assets, list_assets
from web import accounts
from web.accounts import Session
from web.errors import BadForm
from web.routes.context import FLEET_ROLES
from web.routes.http import Pages, family_router, lang_of

REGISTER_PAGE = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse_budget(raw: str) -> int:
    """The posted budget in đồng; refused (naming the field) unless a whole positive amount."""
    try:
        return money.parse_budget(raw)
    except money.MoneyError as exc:
        raise BadForm("budget", f"{raw[:40]!r}: {exc.reason_en}") from None


def matching_assets(assets: list[Asset], q: str) -> list[Asset]:
    """The assets whose tag, brand and model, commune code (prefix) or room match ``q``."""
    needle = q.strip().casefold()[:100]
    if not needle:
        return assets
    return [
        a
        for a in assets
        if needle in a.asset_tag.casefold()
        or needle in f"{a.brand} {a.model}".casefold()
        or a.commune_code.startswith(needle)
        or needle in a.room.casefold()
    ]


class FleetPages:
    """The handlers of this family, bound to the console's ``Pages``."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.console = pages.console

    async def _os_plan(self) -> OsPlan:
        """The PCs out of support and their cost, for finance (issue 23)."""
        console = self.console
        return await run_in_threadpool(
            lambda: unsupported_os_plan(console.engine, console.inventory, now=console.clock.now())
        )

    async def fleet(self, request: Request, q: str = "") -> Response:
        """GET /fleet: the register (searched) and its reconciliation with discovered devices."""
        engine = self.console.engine
        session = await self.pages.require(request, FLEET_ROLES)
        assets = await run_in_threadpool(list_assets, engine)
        # Register against what the agents discovered: the same matching as the inventory API.
        found = reconcile(assets, await run_in_threadpool(seen_devices, engine))
        assets = matching_assets(assets, q)
        total = await run_in_threadpool(count_assets, engine)
        return self.pages.page(
            request,
            "fleet.html",
            session,
            assets=assets[:REGISTER_PAGE],
            matching=len(assets),
            total=total,
            q=q[:100],
            today=local_date(self.console.clock.now()),
            plan=None,
            budget="",
            reconciliation=found,
            os_plan=await self._os_plan(),
        )

    async def asset_page(self, request: Request, asset_tag: str) -> Response:
        """GET /fleet/assets/{tag}: one asset's wear and priority."""
        console = self.console
        session = await self.pages.require(request, FLEET_ROLES)
        try:
            detail = await run_in_threadpool(
                lambda: asset_detail(
                    console.engine, console.inventory, asset_tag[:64], now=console.clock.now()
                )
            )
        except InventoryError:
            raise self.pages.fail(
                request, session, 404, self.pages.t(request)("not_found")
            ) from None
        return self.pages.page(request, "asset.html", session, detail=detail)

    async def _plan_for(self, request: Request, session: Session) -> tuple[int, Any]:
        console = self.console
        form = await self.pages.form_of(request, session)
        try:
            budget = parse_budget(form.get("budget", ""))
            plan = await run_in_threadpool(
                lambda: budget_plan(
                    console.engine, console.inventory, budget, now=console.clock.now()
                )
            )
        except BadForm as exc:
            raise self.pages.bad_form(request, session, exc) from None
        except InventoryError as exc:
            raise self.pages.bad_form(request, session, BadForm("budget", str(exc))) from None
        return budget, plan

    async def fleet_plan(self, request: Request) -> Response:
        """POST /fleet/plan: the ranked replacements within the posted budget."""
        session = await self.pages.require(request, FLEET_ROLES)
        budget, plan = await self._plan_for(request, session)
        total = await run_in_threadpool(count_assets, self.console.engine)
        return self.pages.page(
            request,
            "fleet.html",
            session,
            assets=[],
            matching=0,
            total=total,
            q="",
            today=local_date(self.console.clock.now()),
            plan=plan,
            budget=str(budget),
            reconciliation=None,
            os_plan=await self._os_plan(),
        )

    async def fleet_plan_xlsx(self, request: Request) -> Response:
        """POST /fleet/plan.xlsx: the same plan as a workbook, audited."""
        console = self.console
        session = await self.pages.require(request, FLEET_ROLES)
        budget, plan = await self._plan_for(request, session)
        data = await run_in_threadpool(
            lambda: plan_export(plan, ExportFormat.XLSX, lang=lang_of(request))
        )
        await run_in_threadpool(
            accounts.write_audit,
            console.engine,
            console.clock.now(),
            session.user.username,
            "plan_exported",
            f"budget {budget}",
        )
        name = f"ke-hoach-thay-the-{budget}.xlsx"
        return Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def router(pages: Pages) -> APIRouter:
    """The fleet and budget routes."""
    handlers = FleetPages(pages)
    routes = family_router()
    routes.add_api_route("/fleet", handlers.fleet, methods=["GET"])
    routes.add_api_route("/fleet/assets/{asset_tag}", handlers.asset_page, methods=["GET"])
    routes.add_api_route("/fleet/plan", handlers.fleet_plan, methods=["POST"])
    routes.add_api_route("/fleet/plan.xlsx", handlers.fleet_plan_xlsx, methods=["POST"])
    return routes
