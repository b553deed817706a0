"""What the console's pages share (web/routes/context.py): who sees which pages, where each
role lands, and the console's derived views of alerting."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from agent.clock import SystemClock
from alerts.calendar import load_calendar
from alerts.routing import load_routing
from inventory.reports import InventoryConfig
from web.accounts import Role
from web.routes.context import (
    ADMIN_ROLES,
    ANY_ROLE,
    FLEET_ROLES,
    HOME,
    OVERVIEW_ROLES,
    TICKET_ACTORS,
    TICKET_ROLES,
    Console,
)


def test_each_role_lands_on_a_page_it_may_see() -> None:
    pages = {"/overview": OVERVIEW_ROLES, "/tickets": TICKET_ROLES, "/fleet": FLEET_ROLES}
    # Commune staff have no home of their own here: they land on /tickets (web/routes/auth.py).
    assert set(HOME) == set(Role) - {Role.COMMUNE}
    for role, home in HOME.items():
        assert role in pages[home], role


def test_who_may_act_is_a_subset_of_who_may_see() -> None:
    assert TICKET_ACTORS <= TICKET_ROLES
    assert Role.DOST in TICKET_ROLES
    assert Role.DOST not in TICKET_ACTORS  # the department watches; owners act
    assert Role.FINANCE not in TICKET_ROLES
    assert Role.VENDOR not in OVERVIEW_ROLES
    assert {Role.ADMIN} == ADMIN_ROLES
    assert frozenset(Role) == ANY_ROLE
    assert all(Role.ADMIN in roles for roles in (OVERVIEW_ROLES, TICKET_ROLES, FLEET_ROLES))


def test_the_console_without_alerting_has_no_owners(engine: Engine) -> None:
    console = Console(
        engine=engine,
        clock=SystemClock(),
        silence=timedelta(seconds=90),
        desk=None,
        routing=None,
        inventory=InventoryConfig(),
    )
    assert console.owners == {}
    assert console.active_guards() == {}
    assert console.heartbeat == timedelta(seconds=60)
    assert console.secure_cookies
    expectation = console.expectation
    assert expectation.heartbeat == timedelta(seconds=60)
    assert expectation.limit == timedelta(seconds=90)
    routing = load_routing()
    with_routing = Console(
        engine=engine,
        clock=SystemClock(),
        silence=timedelta(seconds=90),
        desk=None,
        routing=routing,
        inventory=InventoryConfig(),
        calendar=load_calendar(),
    )
    assert with_routing.owners is routing.owners
    assert "isp" in with_routing.owners
