"""Incidents and their tickets inside one transaction: open, recur, reopen, reclassify, resolve.

Every state change of a ticket writes one history row and, in the same transaction, one outbox
row per channel of its owner, so a notification is never lost nor sent for a change that rolled
back. Incident times are agent measured-at times; ticket times are the collector's clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from alerts.notify import digest_due
from alerts.routing import Routing
from alerts.rules import Rules
from alerts.schema import alerts, incidents, outbox, ticket_history, tickets
from alerts.text import TicketText, render
from collector.schema import communes

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Symptom:
    """What a rule or grouping step found: the root cause's key, class, place and times."""

    key: str
    problem_class: str
    commune_code: str | None
    device_id: str | None
    device_kind: str | None
    signal: str
    started_at: datetime
    evidence: dict[str, Any]
    signal_vi: str = ""
    signal_en: str = ""
    # The central system (systems.yaml id) of a software incident, and its names for the text.
    system: str | None = None
    system_vi: str = ""
    system_en: str = ""


class Desk:
    """Writes incidents, tickets, history and outbox rows on a connection in a transaction."""

    def __init__(self, rules: Rules, routing: Routing, public_url: str) -> None:
        self.rules = rules
        self.routing = routing
        self.public_url = public_url
        self._commune_names: dict[str, str] = {}

    # -- incidents --------------------------------------------------------------------------

    def latest(self, conn: Connection, key: str) -> Any:
        """The newest incident with ``key``, or None."""
        return conn.execute(
            select(incidents).where(incidents.c.key == key).order_by(incidents.c.id.desc()).limit(1)
        ).first()

    def raise_(self, conn: Connection, symptom: Symptom, now: datetime) -> int:
        """Make sure the root cause has an active incident and a live ticket; returns its id.

        An active incident only gains evidence (and an earlier start, if agent time says so).
        An ended one whose ticket is still open (hold-down) or was resolved within the reopen
        window comes back: the same ticket, reopened, never a duplicate.
        """
        row = self.latest(conn, symptom.key)
        if row is not None and row.active:
            values: dict[str, Any] = {"evidence": _merge_evidence(row.evidence, symptom.evidence)}
            if symptom.started_at < row.started_at:
                values["started_at"] = symptom.started_at
            conn.execute(update(incidents).where(incidents.c.id == row.id).values(**values))
            if "started_at" in values:
                self._refresh_text(conn, row.id)
            return int(row.id)
        if row is not None:
            ticket = self._ticket_of(conn, row.id)
            window = self.rules.tickets.reopen_window
            recent = ticket is not None and (
                ticket.state != "resolved"
                or (ticket.resolved_at is not None and now - ticket.resolved_at <= window)
            )
            if recent and ticket is not None:
                return self._recur(conn, row, ticket, symptom, now)
        return self._open(conn, symptom, now)

    def _open(self, conn: Connection, symptom: Symptom, now: datetime) -> int:
        incident_id = int(
            conn.execute(
                incidents.insert().values(
                    key=symptom.key,
                    problem_class=symptom.problem_class,
                    commune_code=symptom.commune_code,
                    device_id=symptom.device_id,
                    device_kind=symptom.device_kind,
                    system=symptom.system,
                    signal=symptom.signal,
                    started_at=symptom.started_at,
                    ended_at=None,
                    updated_at=now,
                    active=True,
                    recurrences=0,
                    evidence=json.dumps(
                        {
                            **symptom.evidence,
                            "_signal_vi": symptom.signal_vi,
                            "_signal_en": symptom.signal_en,
                            **(
                                {"_system_vi": symptom.system_vi, "_system_en": symptom.system_en}
                                if symptom.system_vi
                                else {}
                            ),
                        },
                        ensure_ascii=False,
                    ),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        decision = self.routing.route(
            symptom.problem_class, symptom.commune_code, symptom.device_kind, symptom.system
        )
        respond, resolve = decision.owner.sla.respond, decision.owner.sla.resolve
        ticket_id = int(
            conn.execute(
                tickets.insert().values(
                    incident_id=incident_id,
                    problem_class=symptom.problem_class,
                    commune_code=symptom.commune_code,
                    device_id=symptom.device_id,
                    system=symptom.system,
                    owner=decision.owner_id,
                    route=decision.route,
                    unrouted=decision.unrouted,
                    state="open",
                    opened_at=now,
                    reopen_count=0,
                    respond_by=now + respond,
                    resolve_by=now + resolve,
                    response_breached=False,
                    resolution_breached=False,
                    title_vi="",
                    title_en="",
                    body_vi="",
                    body_en="",
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        self._refresh_text(conn, incident_id)
        note = "" if not decision.unrouted else "no route matched: default team, please route"
        self.record(conn, ticket_id, now, SYSTEM, "opened", note)
        return incident_id

    def _recur(
        self, conn: Connection, row: Any, ticket: Any, symptom: Symptom, now: datetime
    ) -> int:
        recurrences = int(row.recurrences) + 1
        problem_class = row.problem_class
        if (
            row.problem_class in ("site_outage", "site_link_degraded")
            and recurrences + 1 >= self.rules.site.flap_count
        ):
            problem_class = "site_link_degraded"
        conn.execute(
            update(incidents)
            .where(incidents.c.id == row.id)
            .values(
                active=True,
                ended_at=None,
                updated_at=now,
                recurrences=recurrences,
                problem_class=problem_class,
                evidence=_merge_evidence(row.evidence, symptom.evidence),
            )
        )
        if problem_class != row.problem_class:
            decision = self.routing.route(
                problem_class, row.commune_code, row.device_kind, row.system
            )
            conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket.id)
                .values(
                    problem_class=problem_class,
                    owner=decision.owner_id,
                    route=decision.route,
                    unrouted=decision.unrouted,
                    updated_at=now,
                )
            )
            self.record(
                conn,
                ticket.id,
                now,
                SYSTEM,
                "reclassified",
                f"{row.problem_class} -> {problem_class} after {recurrences + 1} outages",
            )
        if ticket.state == "resolved":
            owner = (
                self.routing.owners.get(ticket.owner)
                or self.routing.owners[self.routing.default_owner]
            )
            conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket.id)
                .values(
                    state="open",
                    resolved_at=None,
                    resolved_by=None,
                    acknowledged_at=None,
                    reopen_count=tickets.c.reopen_count + 1,
                    respond_by=now + owner.sla.respond,
                    resolve_by=now + owner.sla.resolve,
                    updated_at=now,
                )
            )
            self._refresh_text(conn, row.id)
            self.record(conn, ticket.id, now, SYSTEM, "reopened", "the same root cause returned")
        else:
            self._refresh_text(conn, row.id)
        return int(row.id)

    def end(self, conn: Connection, incident_id: int, ended_at: datetime, now: datetime) -> None:
        """The root cause recovered at ``ended_at`` (agent time); the ticket waits the hold-down."""
        conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id, incidents.c.active.is_(True))
            .values(active=False, ended_at=ended_at, updated_at=now)
        )
        conn.execute(
            update(alerts)
            .where(alerts.c.incident_id == incident_id, alerts.c.ended_at.is_(None))
            .values(ended_at=ended_at)
        )
        self._refresh_text(conn, incident_id)

    def move_end(self, conn: Connection, incident_id: int, ended_at: datetime) -> None:
        """Agent time showed the recovery was at ``ended_at``: correct the recorded end."""
        conn.execute(
            update(incidents).where(incidents.c.id == incident_id).values(ended_at=ended_at)
        )
        self._refresh_text(conn, incident_id)

    def move_start(self, conn: Connection, incident_id: int, started_at: datetime) -> None:
        """Agent time showed the root cause began at ``started_at``: correct the recorded start."""
        conn.execute(
            update(incidents).where(incidents.c.id == incident_id).values(started_at=started_at)
        )
        self._refresh_text(conn, incident_id)

    def attach(
        self, conn: Connection, incident_id: int, subject: str, signal: str, started_at: datetime
    ) -> None:
        """Keep a member symptom (a silent agent of a cut commune) under its incident."""
        exists = conn.execute(
            select(alerts.c.id).where(
                alerts.c.incident_id == incident_id,
                alerts.c.subject == subject,
                alerts.c.signal == signal,
            )
        ).first()
        if exists is None:
            conn.execute(
                alerts.insert().values(
                    incident_id=incident_id,
                    subject=subject,
                    signal=signal,
                    started_at=started_at,
                    suppressed=True,
                )
            )

    # -- tickets ----------------------------------------------------------------------------

    @staticmethod
    def _ticket_of(conn: Connection, incident_id: int) -> Any:
        return conn.execute(select(tickets).where(tickets.c.incident_id == incident_id)).first()

    def _commune_name(self, conn: Connection, code: str | None) -> str | None:
        if code is None:
            return None
        if code not in self._commune_names:
            name = conn.execute(select(communes.c.name).where(communes.c.code == code)).scalar()
            self._commune_names[code] = name or code
        return self._commune_names[code]

    def _refresh_text(self, conn: Connection, incident_id: int) -> None:
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).one()
        ticket = self._ticket_of(conn, incident_id)
        if ticket is None:
            return
        owner = (
            self.routing.owners.get(ticket.owner) or self.routing.owners[self.routing.default_owner]
        )
        evidence = json.loads(row.evidence)
        signal_vi = evidence.pop("_signal_vi", "")
        signal_en = evidence.pop("_signal_en", "")
        system_vi = evidence.pop("_system_vi", "")
        system_en = evidence.pop("_system_en", "")
        affected = evidence.pop("communes", None)
        if isinstance(affected, list):
            # A software outage lists the communes it hits, by name and code.
            affected = [f"{self._commune_name(conn, str(code))} ({code})" for code in affected]
        text: TicketText = render(
            ticket_id=int(ticket.id),
            problem_class=row.problem_class,
            commune_code=row.commune_code,
            commune_name=self._commune_name(conn, row.commune_code),
            device_id=row.device_id,
            signal=row.signal,
            signal_vi=signal_vi,
            signal_en=signal_en,
            started_at=row.started_at,
            ended_at=row.ended_at,
            evidence=evidence,
            owner_vi=owner.name_vi,
            owner_en=owner.name_en,
            public_url=self.public_url,
            system_vi=system_vi,
            system_en=system_en,
            communes=affected if isinstance(affected, list) else None,
        )
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket.id)
            .values(
                title_vi=text.title_vi,
                title_en=text.title_en,
                body_vi=text.body_vi,
                body_en=text.body_en,
            )
        )

    def record(
        self,
        conn: Connection,
        ticket_id: int,
        now: datetime,
        actor: str,
        action: str,
        note: str = "",
        *,
        notify: bool = True,
        extra_owner: str | None = None,
        urgent: bool = False,
    ) -> int:
        """One history row, and one outbox row per channel of the owner (and ``extra_owner``).

        A row refers to its channel (owner + channel id), never holds its address. ``urgent``
        rows (SLA breaches, escalations) are due at once even for an owner with a digest.
        """
        history_id = int(
            conn.execute(
                ticket_history.insert().values(
                    ticket_id=ticket_id, at=now, actor=actor, action=action, note=note
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=now))
        if not notify:
            return history_id
        ticket = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one()
        owner_ids = [ticket.owner] + ([extra_owner] if extra_owner else [])
        rows = []
        seen: set[tuple[str, str]] = set()
        for owner_id in owner_ids:
            owner = self.routing.owners.get(owner_id)
            if owner is None:
                continue
            due = digest_due(now, owner.digest_minutes) if owner.digest_minutes else now
            for channel in owner.channels:
                if (channel.type, channel.to) in seen:
                    continue  # an escalation to a team sharing a channel: one message
                seen.add((channel.type, channel.to))
                subject = f"[{action}] #{ticket.id} {ticket.title_vi}"
                body = (
                    json.dumps(_webhook_payload(ticket, action, note, now), ensure_ascii=False)
                    if channel.type == "webhook"
                    else f"{ticket.body_vi}\n\n---\n\n{ticket.body_en}\n\n({action}: {note})"
                )
                rows.append(
                    {
                        "ticket_id": ticket_id,
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
        return history_id


def _webhook_payload(ticket: Any, action: str, note: str, now: datetime) -> dict[str, Any]:
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
        },
    }


def _merge_evidence(stored: str, new: dict[str, Any]) -> str:
    merged = json.loads(stored)
    for key, value in new.items():
        if isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = sorted({*merged[key], *value})
        else:
            merged[key] = value
    return json.dumps(merged, ensure_ascii=False)


def hold_down_over(ended_at: datetime, now: datetime, hold_down: timedelta) -> bool:
    """Whether a recovery at ``ended_at`` has held long enough by ``now``."""
    return now - ended_at >= hold_down
