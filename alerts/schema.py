"""Tables of alerting (on the collector's metadata): incidents, member alerts, tickets, outbox,
people's reports and used answer links.

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
    # The maintenance window or silence it was raised in: recorded, but no ticket while covered.
    Column("window_id", BigId),
    # A problem people reported (alerts/categories.yaml id, issue 22); None for what the
    # detectors found. Its reports are ``ticket_reports``.
    Column("category", String(40)),
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
    # While a window covers the ticket, its SLA clock stops: the deadlines move on by the pause.
    Column("sla_paused_since", UtcDateTime),
    # Flapping: since when the owner gets one notice and then a digest instead of each change.
    Column("throttled_since", UtcDateTime),
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

# Maintenance windows and silences (Zabbix maintenance periods, Alertmanager silences and mute
# time intervals): while one covers a problem, incidents are recorded as in maintenance, no
# ticket is raised and SLA clocks stop. One-off (starts_at..ends_at) or weekly (days and local
# start time, for ``duration_minutes``, from starts_at until ends_at).
windows = Table(
    "alert_windows",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # maintenance, silence
    Column("reason", Text, nullable=False),
    Column("author", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    # weekly: ISO weekdays ("6,7") and the local start "HH:MM" of each occurrence.
    Column("recurrence", String(10), nullable=False, default="once"),
    Column("weekdays", String(20), nullable=False, default=""),
    Column("local_start", String(5), nullable=False, default=""),
    Column("duration_minutes", Integer, nullable=False, default=0),
    # JSON lists: systems, communes, devices, problem_classes; an empty list matches all.
    Column("scope", Text, nullable=False, default="{}"),
    Column("cancelled_at", UtcDateTime),
    Column("cancelled_by", String(100)),
)
Index("ix_alert_windows_ends_at", windows.c.ends_at)

# What people reported (console, API, CLI; issue 22): each report, whether it opened its own
# ticket's incident or joined an incident whose ticket was already open ("đã có phiếu #18").
# Keyed by incident, which exists before its ticket is opened.
reports = Table(
    "ticket_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("alert_incidents.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    # Who entered it: a console user, "admin" (the API token) or cli:<user>; and from where.
    Column("actor", String(100), nullable=False),
    Column("source", String(10), nullable=False),  # console, api, cli
    Column("category", String(40), nullable=False),
    Column("commune_code", String(5), nullable=False),
    Column("device_id", String(128)),
    Column("counter", String(40)),
    Column("description", Text, nullable=False),
    # The software's own error message, for the categories that ask for it.
    Column("message", Text, nullable=False, default=""),
    Column("reporter_name", String(200), nullable=False),
    Column("reporter_phone", String(20), nullable=False),
    # True: the report joined a ticket that was already open instead of opening one.
    Column("attached", Boolean, nullable=False, default=False),
)

# Signed links in notifications (alerts/action_links.py) are single-use: the id of each link
# used, written in the transaction of the change it made. A link lives 72 hours, so rows twice
# that old are pruned as new ones are written.
used_links = Table(
    "action_links_used",
    metadata,
    Column("link_id", String(32), primary_key=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("recipient", String(110), nullable=False),
    Column("used_at", UtcDateTime, nullable=False, index=True),
)
