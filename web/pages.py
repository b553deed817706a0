"""The console's routes under /web: thin handlers that check the session, call one function of
``web``, ``alerts.tickets`` or ``inventory.reports`` and render a template.

Access is decided here, server-side, for every request: each page lists the roles that may see
it, and ticket reads and actions pass the vendor's owner as ``scope`` so another owner's ticket is
a 404 whether it is guessed from the URL or posted to. Every POST carries the session's CSRF token
(the login form a double-submit cookie, since there is no session yet).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Literal, cast

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from agent.checks.base import Clock
from alerts import tickets
from alerts.desk import Desk
from alerts.errors import TicketNotFound, TicketTransition
from alerts.routing import Routing
from alerts.text import CLASS_TEXT
from inventory.errors import InventoryError
from inventory.reconcile import reconcile, seen_devices
from inventory.reports import (
    ExportFormat,
    InventoryConfig,
    asset_detail,
    budget_plan,
    plan_export,
)
from inventory.store import count_assets, list_assets, local_date
from web import accounts
from web.accounts import Role, Session
from web.availability import commune_availability
from web.charts import bars, line, scale_top
from web.commune import commune_detail, reporting_by_hour
from web.errors import AccountError, BadForm, LoginRefused, TooManyAttempts
from web.history import SPANS, Span, device_history
from web.i18n import LANGS, Lang, local_time, translator
from web.province import SortKey, overview, select_communes
from web.render import STATIC, environment, render

PREFIX = "/web"
SESSION_COOKIE = "cm_session"
LANG_COOKIE = "cm_lang"
LOGIN_CSRF_COOKIE = "cm_login_csrf"
MAX_COMMENT = 4000
MAX_BUDGET = 10**15  # a million billion đồng: anything larger is a typing slip
REGISTER_PAGE = 200

OVERVIEW_ROLES = frozenset({Role.ADMIN, Role.DOST})
TICKET_ROLES = frozenset({Role.ADMIN, Role.DOST, Role.VENDOR})
TICKET_ACTORS = frozenset({Role.ADMIN, Role.VENDOR})
FLEET_ROLES = frozenset({Role.ADMIN, Role.DOST, Role.FINANCE})
ADMIN_ROLES = frozenset({Role.ADMIN})
SORT_KEYS = ("status", "name", "tickets", "code", "software", "availability")
ActionName = Literal["ack", "comment", "resolve"]
HOME = {
    Role.ADMIN: "/overview",
    Role.DOST: "/overview",
    Role.VENDOR: "/tickets",
    Role.FINANCE: "/fleet",
}


class _Stop(Exception):
    """Ends a handler early with a ready response (login redirect, 403, 404, 422...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


# On every console answer (pages, redirects, the stylesheet, XLSX downloads, refusals): no
# framing (clickjacking), no MIME sniffing, no full URL leaked to other sites, and nothing loaded
# from anywhere but the collector itself (the pages use no script; inline SVG charts, data: images).
SECURITY_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
}


class _ConsoleRoute(APIRoute):
    """Turns a ``_Stop`` raised anywhere in a handler into its response; adds security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except _Stop as stop:
                response = stop.response
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            # Downloads and redirects too; the stylesheet sets its own (public) caching.
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return guarded


@dataclass(frozen=True)
class Console:
    """What the console's pages read and act on."""

    engine: Engine
    clock: Clock
    silence: timedelta
    desk: Desk | None
    routing: Routing | None
    inventory: InventoryConfig
    heartbeat: timedelta = timedelta(seconds=60)
    # How long the journal keeps reports: the device charts' horizon (web.history).
    journal_days: float = 7.0
    secure_cookies: bool = True


def _lang(request: Request) -> Lang:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "vi"


def _safe_next(target: str | None) -> str:
    # Only a path on this console: never an absolute or protocol-relative URL (open redirect).
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return PREFIX + "/"


def console_router(console: Console) -> APIRouter:
    """The /web routes of the console."""
    router = APIRouter(prefix=PREFIX, route_class=_ConsoleRoute, include_in_schema=False)
    env = environment()
    engine, clock = console.engine, console.clock

    def page(
        request: Request,
        name: str,
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = render(
            env,
            name,
            _lang(request),
            clock.now(),
            session=session,
            path=request.url.path,
            query=request.url.query,
            **context,
        )
        # Pages show tickets and the register to one person: no cache keeps them.
        headers = {"Cache-Control": "no-store", **SECURITY_HEADERS}
        return HTMLResponse(html, status_code=status, headers=headers)

    def fail(request: Request, session: Session | None, status: int, message: str) -> _Stop:
        return _Stop(page(request, "error.html", session, status, message=message))

    async def require(request: Request, roles: frozenset[Role]) -> Session:
        session = await run_in_threadpool(
            accounts.session_for, engine, request.cookies.get(SESSION_COOKIE), clock.now()
        )
        if session is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise _Stop(RedirectResponse(f"{PREFIX}/login?next={here}", status_code=303))
        if session.user.role not in roles:
            t = _t(request)
            raise fail(request, session, 403, t("forbidden"))
        return session

    def _t(request: Request) -> Callable[..., str]:
        return translator(_lang(request))

    async def form_of(request: Request, session: Session) -> dict[str, str]:
        """The posted form, refused with 403 unless it carries this session's CSRF token."""
        form = await request.form()
        token = form.get("csrf_token")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), session.csrf_token.encode()
        ):
            raise fail(request, session, 403, _t(request)("csrf_refused"))
        return {key: value for key, value in form.items() if isinstance(value, str)}

    def bad_form(request: Request, session: Session | None, exc: BadForm) -> _Stop:
        return fail(
            request, session, 422, _t(request)("bad_field", field=exc.field, message=exc.message)
        )

    # -- static, language, login ------------------------------------------------------------

    @router.get("/static/console.css")
    async def stylesheet() -> Response:
        css = (STATIC / "console.css").read_bytes()
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    @router.get("/lang/{code}")
    async def switch_language(code: str, next: str | None = None) -> Response:
        response = RedirectResponse(_safe_next(next), status_code=303)
        if code in LANGS:
            response.set_cookie(
                LANG_COOKIE,
                code,
                max_age=365 * 86400,
                httponly=True,
                secure=console.secure_cookies,
                samesite="lax",
                path=PREFIX,
            )
        return response

    def login_page(
        request: Request, status: int = 200, error: str | None = None, username: str = ""
    ) -> Response:
        token = secrets.token_urlsafe(32)
        response = page(
            request,
            "login.html",
            None,
            status,
            csrf_token=token,
            error=error,
            username=username,
            next=_safe_next(request.query_params.get("next")),
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            secure=console.secure_cookies,
            samesite="strict",
            path=PREFIX,
        )
        return response

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        return login_page(request)

    @router.post("/login")
    async def login_submit(request: Request) -> Response:
        form = await request.form()
        posted = form.get("csrf_token")
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
        t = _t(request)
        if not (
            isinstance(posted, str)
            and cookie
            and hmac.compare_digest(posted.encode(), cookie.encode())
        ):
            return page(request, "error.html", None, 403, message=t("csrf_refused"))
        username = str(form.get("username", ""))
        password = str(form.get("password", ""))
        client = request.client.host if request.client else "-"
        try:
            token = await run_in_threadpool(
                accounts.login, engine, username, password, client, clock.now()
            )
        except TooManyAttempts as exc:
            return login_page(request, 429, t("too_many_attempts", minutes=exc.minutes), username)
        except LoginRefused:
            return login_page(request, 401, t("login_refused"), username)
        session = await run_in_threadpool(accounts.session_for, engine, token, clock.now())
        assert session is not None
        target = str(form.get("next") or "")
        if not target.startswith(PREFIX + "/") or target.startswith(PREFIX + "/login"):
            target = PREFIX + HOME[session.user.role]
        response = RedirectResponse(_safe_next(target), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            secure=console.secure_cookies,
            samesite="lax",
            path=PREFIX,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        session = await require(request, frozenset(Role))
        await form_of(request, session)
        token = request.cookies.get(SESSION_COOKIE, "")
        await run_in_threadpool(accounts.logout, engine, token, session.user.username, clock.now())
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    @router.get("/")
    async def home(request: Request) -> Response:
        session = await require(request, frozenset(Role))
        return RedirectResponse(PREFIX + HOME[session.user.role], status_code=303)

    # -- province and communes ----------------------------------------------------------------

    @router.get("/overview")
    async def province_overview(
        request: Request, status: str | None = None, q: str = "", sort: str = "status"
    ) -> Response:
        session = await require(request, OVERVIEW_ROLES)
        data = await run_in_threadpool(
            partial(overview, with_availability=console.desk is not None),
            engine,
            clock.now(),
            console.silence,
        )
        chosen_status = status if status in data.by_status else None
        chosen_sort = cast(SortKey, sort if sort in SORT_KEYS else "status")
        lines = select_communes(
            data.communes, status=chosen_status, query=q[:100], sort=chosen_sort
        )
        owners = console.routing.owners if console.routing else {}
        return page(
            request,
            "overview.html",
            session,
            data=data,
            lines=lines,
            chosen=chosen_status,
            q=q[:100],
            sort=chosen_sort,
            owners=owners,
        )

    def history_charts(
        request: Request, code: str, device: str, span: Span
    ) -> list[tuple[str, str, Any]]:
        """(metric, scale text, SVG) for each metric the device reported in the span."""
        found = device_history(engine, code, device, clock.now(), span)
        if found is None:
            return []
        t = _t(request)
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

    @router.get("/communes/{code}")
    async def commune_page(
        request: Request, code: str, device: str | None = None, span: str = "24h"
    ) -> Response:
        session = await require(request, OVERVIEW_ROLES)
        detail = await run_in_threadpool(
            commune_detail, engine, code[:5], clock.now(), console.silence
        )
        if detail is None:
            raise fail(request, session, 404, _t(request)("not_found"))
        series = await run_in_threadpool(
            reporting_by_hour, engine, detail.code, clock.now(), console.heartbeat
        )
        t = _t(request)
        chart = bars(
            [value for _, value in series],
            [
                f"{local_time(hour)}: "
                + (f"{value * 100:.0f} %" if value is not None else t("no_data"))
                for hour, value in series
            ],
            t("reporting_chart"),
        )
        open_tickets = await run_in_threadpool(
            tickets.list_tickets,
            engine,
            tickets.TicketFilter(commune_code=detail.code, limit=50),
        )
        availability = (
            await run_in_threadpool(commune_availability, engine, detail.code, clock.now())
            if console.desk is not None
            else None
        )
        # The chosen device's charts; by default the first PC (the counter's machine).
        known = [d.device_id for d in detail.devices]
        pcs = [d.device_id for d in detail.devices if d.kind == "pc"]
        chosen_device: str | None = device if device in known else next(iter(pcs + known), None)
        chosen_span: Span = "7d" if span == "7d" else "24h"
        history = (
            await run_in_threadpool(
                history_charts, request, detail.code, chosen_device, chosen_span
            )
            if chosen_device is not None
            else []
        )
        return page(
            request,
            "commune.html",
            session,
            detail=detail,
            chart=chart,
            tickets=[x for x in open_tickets if x["state"] != "resolved"],
            availability=availability,
            history=history,
            chosen_device=chosen_device,
            span=chosen_span,
            spans=list(SPANS),
            journal_days=f"{console.journal_days:g}",
        )

    # -- tickets ------------------------------------------------------------------------------

    @router.get("/tickets")
    async def ticket_list(
        request: Request,
        state: str | None = None,
        problem_class: str | None = None,
        commune: str | None = None,
    ) -> Response:
        session = await require(request, TICKET_ROLES)
        where = tickets.TicketFilter(
            state=state if state in tickets.STATES else None,
            problem_class=problem_class or None,
            commune_code=commune[:5] if commune else None,
            limit=200,
        )
        found = await run_in_threadpool(
            tickets.list_tickets, engine, where, scope=session.user.ticket_scope
        )
        return page(
            request,
            "tickets.html",
            session,
            tickets=found,
            state=where.state,
            problem_class=problem_class or "",
            commune=commune or "",
            owners=console.routing.owners if console.routing else {},
            states=tickets.STATES,
            classes=tuple(CLASS_TEXT),
        )

    async def one_ticket(request: Request, session: Session, ticket_id: int) -> dict[str, Any]:
        try:
            return await run_in_threadpool(
                tickets.get_ticket, engine, ticket_id, scope=session.user.ticket_scope
            )
        except TicketNotFound:
            raise fail(request, session, 404, _t(request)("not_found")) from None

    @router.get("/tickets/{ticket_id}")
    async def ticket_page(request: Request, ticket_id: int) -> Response:
        session = await require(request, TICKET_ROLES)
        ticket = await one_ticket(request, session, ticket_id)
        return page(
            request,
            "ticket.html",
            session,
            ticket=ticket,
            owners=console.routing.owners if console.routing else {},
            can_act=session.user.role in TICKET_ACTORS and console.desk is not None,
        )

    async def ticket_action(request: Request, ticket_id: int, action: ActionName) -> Response:
        session = await require(request, TICKET_ACTORS)
        form = await form_of(request, session)
        if console.desk is None:
            raise fail(request, session, 409, _t(request)("desk_disabled"))
        desk, actor, now = console.desk, session.user.username, clock.now()
        scope = session.user.ticket_scope
        text = form.get("text", "").strip()
        try:
            if action == "ack":
                await run_in_threadpool(
                    tickets.acknowledge, engine, desk, ticket_id, actor, now, scope=scope
                )
            elif action == "comment":
                if not text:
                    raise BadForm("text", "empty")
                if len(text) > MAX_COMMENT:
                    raise BadForm("text", f"longer than {MAX_COMMENT} characters")
                await run_in_threadpool(
                    tickets.comment, engine, desk, ticket_id, actor, text, now, scope=scope
                )
            else:
                await run_in_threadpool(
                    tickets.resolve,
                    engine,
                    desk,
                    ticket_id,
                    actor,
                    text[:MAX_COMMENT],
                    now,
                    scope=scope,
                )
        except BadForm as exc:
            raise bad_form(request, session, exc) from None
        except TicketNotFound:
            raise fail(request, session, 404, _t(request)("not_found")) from None
        except TicketTransition as exc:
            raise fail(request, session, 409, _t(request)("conflict", message=str(exc))) from None
        await run_in_threadpool(
            accounts.write_audit,
            engine,
            now,
            actor,
            f"ticket_{action}",
            f"ticket {ticket_id}",
            text[:500],
        )
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}", status_code=303)

    @router.post("/tickets/{ticket_id}/ack")
    async def ticket_ack(request: Request, ticket_id: int) -> Response:
        return await ticket_action(request, ticket_id, "ack")

    @router.post("/tickets/{ticket_id}/comment")
    async def ticket_comment(request: Request, ticket_id: int) -> Response:
        return await ticket_action(request, ticket_id, "comment")

    @router.post("/tickets/{ticket_id}/resolve")
    async def ticket_resolve(request: Request, ticket_id: int) -> Response:
        return await ticket_action(request, ticket_id, "resolve")

    # -- fleet and finance --------------------------------------------------------------------

    @router.get("/fleet")
    async def fleet(request: Request, q: str = "") -> Response:
        session = await require(request, FLEET_ROLES)
        assets = await run_in_threadpool(list_assets, engine)
        # Register against what the agents discovered: the same matching as the inventory API.
        found = reconcile(assets, await run_in_threadpool(seen_devices, engine))
        needle = q.strip().casefold()[:100]
        if needle:
            assets = [
                a
                for a in assets
                if needle in a.asset_tag.casefold()
                or needle in f"{a.brand} {a.model}".casefold()
                or a.commune_code.startswith(needle)
                or needle in a.room.casefold()
            ]
        total = await run_in_threadpool(count_assets, engine)
        today = local_date(clock.now())
        return page(
            request,
            "fleet.html",
            session,
            assets=assets[:REGISTER_PAGE],
            matching=len(assets),
            total=total,
            q=q[:100],
            today=today,
            plan=None,
            budget="",
            reconciliation=found,
        )

    @router.get("/fleet/assets/{asset_tag}")
    async def asset_page(request: Request, asset_tag: str) -> Response:
        session = await require(request, FLEET_ROLES)
        try:
            detail = await run_in_threadpool(
                lambda: asset_detail(engine, console.inventory, asset_tag[:64], now=clock.now())
            )
        except InventoryError:
            raise fail(request, session, 404, _t(request)("not_found")) from None
        return page(request, "asset.html", session, detail=detail)

    def parse_budget(raw: str) -> int:
        digits = raw.replace(".", "").replace(",", "").replace(" ", "").strip()
        if not digits.isdigit():
            raise BadForm("budget", f"{raw[:40]!r} is not a whole number of đồng")
        value = int(digits)
        if not 0 < value <= MAX_BUDGET:
            raise BadForm("budget", f"must be between 1 and {MAX_BUDGET}")
        return value

    async def plan_for(request: Request, session: Session) -> tuple[int, Any]:
        form = await form_of(request, session)
        try:
            budget = parse_budget(form.get("budget", ""))
            plan = await run_in_threadpool(
                lambda: budget_plan(engine, console.inventory, budget, now=clock.now())
            )
        except BadForm as exc:
            raise bad_form(request, session, exc) from None
        except InventoryError as exc:
            raise bad_form(request, session, BadForm("budget", str(exc))) from None
        return budget, plan

    @router.post("/fleet/plan")
    async def fleet_plan(request: Request) -> Response:
        session = await require(request, FLEET_ROLES)
        budget, plan = await plan_for(request, session)
        total = await run_in_threadpool(count_assets, engine)
        return page(
            request,
            "fleet.html",
            session,
            assets=[],
            matching=0,
            total=total,
            q="",
            today=local_date(clock.now()),
            plan=plan,
            budget=str(budget),
            reconciliation=None,
        )

    @router.post("/fleet/plan.xlsx")
    async def fleet_plan_xlsx(request: Request) -> Response:
        session = await require(request, FLEET_ROLES)
        budget, plan = await plan_for(request, session)
        data = await run_in_threadpool(
            lambda: plan_export(plan, ExportFormat.XLSX, lang=_lang(request))
        )
        await run_in_threadpool(
            accounts.write_audit,
            engine,
            clock.now(),
            session.user.username,
            "plan_exported",
            f"budget {budget}",
        )
        name = f"ke-hoach-thay-the-{budget}.xlsx"
        return Response(
            data,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # -- admin ----------------------------------------------------------------------------------

    async def users_page(
        request: Request, session: Session, status: int = 200, error: str | None = None
    ) -> Response:
        listed = await run_in_threadpool(accounts.list_users, engine)
        disabled = await run_in_threadpool(accounts.disabled_usernames, engine)
        owners = sorted(console.routing.owners) if console.routing else []
        return page(
            request,
            "users.html",
            session,
            status,
            users=listed,
            disabled=disabled,
            roles=list(Role),
            owner_ids=owners,
            error=error,
        )

    @router.get("/users")
    async def users_list(request: Request) -> Response:
        session = await require(request, ADMIN_ROLES)
        return await users_page(request, session)

    @router.post("/users")
    async def users_create(request: Request) -> Response:
        session = await require(request, ADMIN_ROLES)
        form = await form_of(request, session)
        t = _t(request)
        try:
            role = Role(form.get("role", ""))
        except ValueError:
            message = t("bad_field", field="role", message=form.get("role", "")[:20])
            return await users_page(request, session, 422, message)
        known = frozenset(console.routing.owners) if console.routing else None
        try:
            await run_in_threadpool(
                lambda: accounts.create_user(
                    engine,
                    form.get("username", "").strip(),
                    form.get("password", ""),
                    role,
                    clock.now(),
                    owner=form.get("owner") or None,
                    display_name=form.get("display_name", "").strip()[:200],
                    known_owners=known,
                    actor=session.user.username,
                )
            )
        except AccountError as exc:
            message = t("bad_field", field=exc.field, message=str(exc))
            return await users_page(request, session, 422, message)
        return RedirectResponse(f"{PREFIX}/users", status_code=303)

    @router.post("/users/{username}/disable")
    async def users_disable(request: Request, username: str) -> Response:
        session = await require(request, ADMIN_ROLES)
        await form_of(request, session)
        if username == session.user.username:
            raise fail(request, session, 409, _t(request)("cannot_disable_self"))
        try:
            await run_in_threadpool(
                accounts.disable_user, engine, username, session.user.username, clock.now()
            )
        except AccountError:
            raise fail(request, session, 404, _t(request)("not_found")) from None
        return RedirectResponse(f"{PREFIX}/users", status_code=303)

    @router.get("/audit")
    async def audit_page(request: Request) -> Response:
        session = await require(request, ADMIN_ROLES)
        lines = await run_in_threadpool(accounts.audit_log, engine)
        return page(request, "audit.html", session, lines=lines)

    return router
