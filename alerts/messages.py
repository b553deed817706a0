"""The messages of a ticket's change: one outbox row per channel of its owner (and escalation),
written in the change's transaction, so a notification is never lost nor sent for a change that
rolled back. A row refers to its channel (owner + channel id), never holds its address.

Every message carries the ticket's first checks (``alerts.runbooks``); its signed answer links are
added when it is sent (``alerts.notify``), so none is ever stored.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from alerts.notify import digest_due
from alerts.routing import Routing
from alerts.runbooks import Runbook, bundled_runbooks, runbook_lines
from alerts.schema import incidents, outbox
from alerts.text import one_line


def queue(
    conn: Connection,
    routing: Routing,
    ticket: Any,
    history_id: int,
    action: str,
    note: str,
    now: datetime,
    *,
    extra_owner: str | None = None,
    urgent: bool = False,
    delay: timedelta | None = None,
) -> int:
    """Outbox rows telling ``ticket``'s owner (and ``extra_owner``) of ``action``; how many.

    ``urgent`` rows (SLA breaches, escalations) are due at once even for an owner with a digest;
    others after ``delay`` at the earliest.
    """
    owner_ids = [ticket.owner] + ([extra_owner] if extra_owner else [])
    # The note is one line of the message: it may quote what an agent or a request sent.
    note = one_line(note, 2000)
    runbook = _runbook(conn, ticket)
    rows = []
    seen: set[tuple[str, str]] = set()
    for owner_id in owner_ids:
        owner = routing.owners.get(owner_id)
        if owner is None:
            continue
        earliest = now + delay if delay is not None else now
        due = digest_due(earliest, owner.digest_minutes) if owner.digest_minutes else earliest
        for channel in owner.channels:
            if (channel.type, channel.to) in seen:
                continue  # an escalation to a team sharing a channel: one message
            seen.add((channel.type, channel.to))
            subject = one_line(f"[{action}] #{ticket.id} {ticket.title_vi}", 500)
            body = (
                json.dumps(webhook_payload(ticket, action, note, now, runbook), ensure_ascii=False)
                if channel.type == "webhook"
                else text_body(ticket, action, note, runbook)
            )
            rows.append(
                {
                    "ticket_id": int(ticket.id),
                    "history_id": history_id,
                    "channel": channel.type,
                    "owner": owner_id,
                    "channel_id": channel.id,
                    "target": "",
                    "urgent": urgent,
                    "subject": subject,
                    "body": body,
                    "created_at": now,
                    "attempts": 0,
                    "next_attempt_at": now if urgent else due,
                    "last_error": "",
                }
            )
    if rows:
        conn.execute(outbox.insert(), rows)
    return len(rows)


def _runbook(conn: Connection, ticket: Any) -> Runbook | None:
    """The first checks of the ticket: its report category's, else its class's."""
    category = conn.execute(
        select(incidents.c.category).where(incidents.c.id == ticket.incident_id)
    ).scalar_one_or_none()
    return bundled_runbooks().for_ticket(ticket.problem_class, category)


def text_body(ticket: Any, action: str, note: str, runbook: Runbook | None) -> str:
    """The text of an e-mail or apprise message: Vietnamese, then English, each with its
    first checks."""
    parts = []
    for lang in ("vi", "en"):
        body = ticket.body_vi if lang == "vi" else ticket.body_en
        if runbook is not None:
            body += "\n\n" + "\n".join(runbook_lines(runbook, lang))
        parts.append(body)
    return "\n\n---\n\n".join(parts) + f"\n\n({action}: {note})"


def webhook_payload(
    ticket: Any, action: str, note: str, now: datetime, runbook: Runbook | None = None
) -> dict[str, Any]:
    """The JSON a webhook channel receives for one change of a ticket."""
    return {
        "event": action,
        "note": note,
        "at": now.isoformat(),
        "ticket": {
            "id": int(ticket.id),
            "problem_class": ticket.problem_class,
            "commune_code": ticket.commune_code,
            "device_id": ticket.device_id,
            "system": ticket.system,
            "owner": ticket.owner,
            "state": ticket.state,
            "reopen_count": int(ticket.reopen_count),
            "title_vi": ticket.title_vi,
            "title_en": ticket.title_en,
            "body_vi": ticket.body_vi,
            "body_en": ticket.body_en,
            "runbook": runbook.model_dump(mode="json") if runbook is not None else None,
        },
    }
