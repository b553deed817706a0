"""Tables of alerting (on the collector's metadata): incidents, member alerts, tickets, outbox.

An *incident* is one root cause (a commune's link, the procedure system, one PC's disk), keyed by
``key`` (e.g. ``site_outage:25117``). Its times are agent measured-at times, so replayed reports
move them to the truth. A *ticket* is the owner's view of one incident; it reopens when the same
key returns within the reopen window. *Alerts* are the member symptoms (each silent agent of a
cut commune) kept under their incident and suppressed.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from collector.schema import BigId, UtcDateTime, metadata

incidents = Table(
    "alert_incidents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("problem_class", String(40), nullable=False),
    Column("commune_code", String(5)),
    Column("device_id", String(128)),
    Column("device_kind", String(30)),
    # The central system (systems.yaml id) of a software incident; None for the others.
    Column("system", String(64)),
    # The rule or signal that raised it (disk_full, silence, probe target ...).
    Column("signal", String(100), nullable=False, default=""),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    # Collector time of the last change, for the hold-down and the reopen window.
    Column("updated_at", UtcDateTime, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    # How many times it came back after a recovery (a flapping link counts its drops here).
    Column("recurrences", Integer, nullable=False, default=0),
    # JSON: the last measurements that prove it, and for software_outage the affected communes.
    Column("evidence", Text, nullable=False, default="{}"),
)
Index("ix_alert_incidents_key", incidents.c.key, incidents.c.active)
Index("ix_alert_incidents_commune", incidents.c.commune_code, incidents.c.active)

alerts = Table(
    "alert_members",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("alert_incidents.id"), nullable=False, index=True),
    Column("subject", String(200), nullable=False),  # agent id or device id
    Column("signal", String(100), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("suppressed", Boolean, nullable=False, default=True),
    UniqueConstraint("incident_id", "subject", "signal", name="uq_alert_members_origin"),
)

# Per (rule, device) memory between reports: when a condition began (for ``for:``), and the
# level history a forecast fits its trend to.
rule_state = Table(
    "alert_rule_state",
    metadata,
    Column("rule", String(64), primary_key=True),
    Column("commune_code", String(5), primary_key=True),
    Column("device_id", String(128), primary_key=True),
    Column("pending_since", UtcDateTime),
    Column("last_at", UtcDateTime, nullable=False),
    Column("history", Text, nullable=False, default="[]"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("alert_incidents.id"), nullable=False, unique=True),
    Column("problem_class", String(40), nullable=False),
    Column("commune_code", String(5)),
    Column("device_id", String(128)),
    Column("system", String(64)),
    Column("owner", String(64), nullable=False, index=True),
    Column("route", String(64)),
    Column("unrouted", Boolean, nullable=False, default=False),
    Column("state", String(20), nullable=False),  # open, acknowledged, resolved
    Column("opened_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(100)),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("respond_by", UtcDateTime, nullable=False),
    Column("resolve_by", UtcDateTime, nullable=False),
    Column("response_breached", Boolean, nullable=False, default=False),
    Column("resolution_breached", Boolean, nullable=False, default=False),
    Column("title_vi", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("body_vi", Text, nullable=False),
    Column("body_en", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_tickets_state", tickets.c.state, tickets.c.commune_code)

ticket_history = Table(
    "ticket_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    # opened, acknowledged, commented, resolved, reopened, reclassified, breached, escalated
    Column("action", String(30), nullable=False),
    Column("note", Text, nullable=False, default=""),
)

# One row per message and channel. A row refers to its channel (``owner`` + ``channel_id`` of
# routing.yaml), resolved when it is sent, so the address and any token in it are never stored;
# ``target`` holds the literal address of rows written before migration 0005 only, cleared once
# they are sent.
outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("history_id", BigId, nullable=False),
    Column("channel", String(20), nullable=False),  # email, webhook, apprise
    Column("owner", String(64), nullable=False, default="", server_default=""),
    Column("channel_id", String(40), nullable=False, default="", server_default=""),
    Column("target", String(300), nullable=False, default="", server_default=""),
    # SLA breaches and escalations: sent at once, never held for an owner's digest.
    Column("urgent", Boolean, nullable=False, default=False, server_default=false()),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),  # text (e-mail, apprise), JSON (webhook)
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("last_error", Text, nullable=False, default=""),
    UniqueConstraint(
        "history_id", "owner", "channel_id", "target", name="uq_notification_outbox_once"
    ),
)
Index("ix_notification_outbox_due", outbox.c.sent_at, outbox.c.next_attempt_at)
