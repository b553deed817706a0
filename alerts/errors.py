"""Exceptions of the alerting package.

AlertsError
├── RulesError         rules.yaml, routing.yaml or systems.yaml is invalid; names file, entry, field
├── ChannelError       a channel cannot be used now: a ${VARIABLE} it names is not set, or what it
│                      gives is not a usable address; names the owner, the channel and the variable
├── TicketNotFound     no ticket with that id (or not visible to the caller)
├── TicketTransition   the action is not allowed from the ticket's state (ack a resolved ticket)
├── WindowNotFound     no maintenance window or silence with that id
└── WindowConflict     the window cannot be changed so (already cancelled, already over)
"""

from __future__ import annotations

from collector.errors import CollectorError, Conflict, NotFound


class AlertsError(CollectorError):
    """Base of every error the alerting package raises on purpose."""


class RulesError(AlertsError):
    """A rules or routing file is invalid; the message names the file, the rule and the field."""


class ChannelError(AlertsError):
    """A notification channel cannot be resolved; names owner, channel and variable, not values."""


class TicketNotFound(AlertsError, NotFound):
    """No such ticket, or the caller may not see it (a vendor never learns it exists)."""


class TicketTransition(AlertsError, Conflict):
    """The requested state change is not allowed from the ticket's current state."""


class WindowNotFound(AlertsError, NotFound):
    """No maintenance window or silence with that id."""


class WindowConflict(AlertsError, Conflict):
    """The window cannot be changed so: already cancelled, or already over."""
