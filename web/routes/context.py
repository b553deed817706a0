"""What the console's pages share: the ``Console`` they read and act on, and who sees what."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from agent.clock import Clock
from alerts.calendar import WorkingCalendar, load_calendar
from alerts.desk import Desk
from alerts.expectation import Expectation
from alerts.routing import Owner, Routing
from inventory.reports import InventoryConfig
from web.accounts import Role
from web.client_address import IPNetwork
from web.login import LoginGuard

PREFIX = "/web"

OVERVIEW_ROLES = frozenset({Role.ADMIN, Role.DOST})
TICKET_ROLES = frozenset({Role.ADMIN, Role.DOST, Role.VENDOR})
TICKET_ACTORS = frozenset({Role.ADMIN, Role.VENDOR})
FLEET_ROLES = frozenset({Role.ADMIN, Role.DOST, Role.FINANCE})
ADMIN_ROLES = frozenset({Role.ADMIN})
ANY_ROLE = frozenset(Role)
# Where each role lands after logging in.
HOME = {
    Role.ADMIN: "/overview",
    Role.DOST: "/overview",
    Role.VENDOR: "/tickets",
    Role.FINANCE: "/fleet",
}


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
    # Reverse proxies whose X-Forwarded-For is believed (web.client_address); none by default.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # The login limits and the argon2 slots: one per console, shared by all its requests.
    login_guard: LoginGuard = field(default_factory=LoginGuard)
    # Opening hours: availability counts them only; off-hours silence is "closed", not "down".
    calendar: WorkingCalendar = field(default_factory=load_calendar)
    # The collector guards holding now (name → why), for a banner; none where not known.
    active_guards: Callable[[], dict[str, str]] = dict

    @property
    def expectation(self) -> Expectation:
        """Who should be reporting now, as the alerting judges it."""
        return Expectation(self.calendar, self.heartbeat, self.silence)

    @property
    def owners(self) -> dict[str, Owner]:
        """The routing's owners by id (empty without alerting)."""
        return self.routing.owners if self.routing else {}
