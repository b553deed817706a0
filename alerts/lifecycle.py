"""Every change of a ticket's state, in one place: opened, reopened, reclassified, acknowledged,
resolved (by a person or after the hold-down), SLA breached, SLA paused by a window.

Each change writes one history row and its messages (:mod:`alerts.messages`) in the caller's
transaction. Ticket times are the collector's clock; incident times are agent time. Deadlines
follow the owner's SLA clock: round the clock, or the working calendar's open hours. A ticket's
messages are throttled: an automatic resolution is told only once it has held a few minutes,
and beyond ``flap_messages`` within ``flap_window`` the changes wait for one digest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, select, update

from agent.vntime import to_local
from alerts import incidents, messages
from alerts.calendar import WorkingCalendar, load_calendar
from alerts.routing import Decision, Owner, Routing
from alerts.rules import Rules
from alerts.schema import incidents as incident_rows
from alerts.schema import outbox, ticket_history, tickets
from alerts.ticket_text import TicketTexts

SYSTEM = "system"


class Lifecycle:
    """The owner of ticket state; detectors reach it through :class:`alerts.desk.Desk`, people
    through :mod:`alerts.tickets`."""

    def __init__(
        self,
        rules: Rules,
        routing: Routing,
        texts: TicketTexts,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.rules = rules
        self.routing = routing
        self.texts = texts
        self.calendar = calendar if calendar is not None else load_calendar()

    def owner(self, owner_id: str) -> Owner:
        """The owner of a ticket (the default team if the routing no longer has it)."""
        return self.routing.owners.get(owner_id) or self.routing.owners[self.routing.default_owner]

    def deadlines(
        self, owner: Owner, commune: str | None, start: datetime
    ) -> tuple[datetime, datetime]:
        """(respond by, resolve by) of a ticket handed to ``owner`` at ``start``."""
        sla = owner.sla
        if sla.clock == "working_hours":
            return (
                self.calendar.add_working_time(commune, start, sla.respond),
                self.calendar.add_working_time(commune, start, sla.resolve),
            )
        return start + sla.respond, start + sla.resolve

    def _extended(
        self, owner: Owner, commune: str | None, deadline: datetime, since: datetime, now: datetime
    ) -> datetime:
        """``deadline`` moved on by the SLA time that passed between ``since`` and ``now``."""
        if owner.sla.clock == "working_hours":
            paused = self.calendar.working_time(commune, since, now)
            return self.calendar.add_working_time(commune, deadline, paused)
        return deadline + (now - since)

    # -- opened by the engine -----------------------------------------------------------------

    def open(self, conn: Connection, incident_id: int, decision: Decision, now: datetime) -> int:
        """The ticket of a new incident, routed by ``decision``; returns its id."""
        row = incidents.get(conn, incident_id)
        respond_by, resolve_by = self.deadlines(decision.owner, row.commune_code, now)
        result = conn.execute(
            tickets.insert().values(
                incident_id=incident_id,
                problem_class=row.problem_class,
                commune_code=row.commune_code,
                device_id=row.device_id,
                system=row.system,
                owner=decision.owner_id,
                route=decision.route,
                unrouted=decision.unrouted,
                state="open",
                opened_at=now,
                reopen_count=0,
                respond_by=respond_by,
                resolve_by=resolve_by,
                response_breached=False,
                resolution_breached=False,
                title_vi="",
                title_en="",
                body_vi="",
                body_en="",
                updated_at=now,
            )
        )
        ticket_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        self.texts.refresh(conn, incident_id)
        note = "" if not decision.unrouted else "no route matched: default team, please route"
        self.record(conn, ticket_id, now, SYSTEM, "opened", note)
        return ticket_id

    def reclassify(
        self, conn: Connection, ticket: Any, problem_class: str, note: str, now: datetime
    ) -> None:
        """The root cause turned out to be of another class: new class, owner and route."""
        incident = incidents.get(conn, ticket.incident_id)
        decision = self.routing.route(
            problem_class, incident.commune_code, incident.device_kind, incident.system
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
        self.record(conn, ticket.id, now, SYSTEM, "reclassified", note)

    # -- state changes ------------------------------------------------------------------------

    def reopen(self, conn: Connection, ticket: Any, actor: str, note: str, now: datetime) -> None:
        """A resolved ticket opens again (its root cause returned, or a person says it is not
        fixed), with fresh SLA deadlines. If its automatic resolution has not been told yet, the
        owner never hears of either: one problem that went on."""
        owner = self.owner(ticket.owner)
        respond_by, resolve_by = self.deadlines(owner, ticket.commune_code, now)
        untold = self._untold_resolution(conn, ticket.id, now) if actor == SYSTEM else False
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket.id)
            .values(
                state="open",
                resolved_at=None,
                resolved_by=None,
                acknowledged_at=None,
                reopen_count=tickets.c.reopen_count + 1,
                respond_by=respond_by,
                resolve_by=resolve_by,
                sla_paused_since=None,
                updated_at=now,
            )
        )
        self.texts.refresh(conn, ticket.incident_id)
        self.record(conn, ticket.id, now, actor, "reopened", note, notify=not untold)

    @staticmethod
    def _untold_resolution(conn: Connection, ticket_id: int, now: datetime) -> bool:
        """Drop the messages of the ticket's automatic resolution if they are still waiting for
        their notice delay; whether they were (the owner never heard of the resolution)."""
        # The newest automatic resolution, even if something came after it (a reclassification
        # at the same instant): the ticket is open again, so its notice would only mislead.
        last = conn.execute(
            select(ticket_history.c.id)
            .where(
                ticket_history.c.ticket_id == ticket_id,
                ticket_history.c.action == "resolved",
                ticket_history.c.actor == SYSTEM,
            )
            .order_by(ticket_history.c.id.desc())
            .limit(1)
        ).first()
        if last is None:
            return False
        rows = conn.execute(
            select(outbox.c.sent_at, outbox.c.attempts, outbox.c.next_attempt_at).where(
                outbox.c.history_id == last.id
            )
        ).all()
        if not rows or any(
            r.sent_at is not None or r.attempts > 0 or r.next_attempt_at <= now for r in rows
        ):
            return False
        conn.execute(delete(outbox).where(outbox.c.history_id == last.id))
        return True

    def acknowledge(self, conn: Connection, ticket: Any, actor: str, now: datetime) -> None:
        """The owner has seen it (stops the response SLA clock)."""
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket.id)
            .values(state="acknowledged", acknowledged_at=now)
        )
        self.record(conn, ticket.id, now, actor, "acknowledged")

    def resolve(self, conn: Connection, ticket: Any, actor: str, note: str, now: datetime) -> None:
        """Resolved by a person: the incident ends with it, so a condition still true raises
        it again, as a reopen."""
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket.id)
            .values(state="resolved", resolved_at=now, resolved_by=actor)
        )
        incidents.end(conn, ticket.incident_id, now, now)
        self.record(conn, ticket.id, now, actor, "resolved", note)

    def comment(self, conn: Connection, ticket: Any, actor: str, text: str, now: datetime) -> None:
        """A note in the ticket's history (no notification)."""
        self.record(conn, ticket.id, now, actor, "commented", text, notify=False)

    # -- timers -------------------------------------------------------------------------------

    def resolve_held(self, conn: Connection, now: datetime) -> None:
        """Resolve the tickets whose incident has stayed recovered for the hold-down."""
        hold = self.rules.tickets.hold_down
        for row in conn.execute(
            select(tickets.c.id, incident_rows.c.updated_at)
            .join(incident_rows, incident_rows.c.id == tickets.c.incident_id)
            .where(tickets.c.state != "resolved", incident_rows.c.active.is_(False))
        ).all():
            # Hold-down on the collector's clock from when the recovery was seen: replayed
            # reports may place the measured end long ago.
            if now - row.updated_at >= hold:
                conn.execute(
                    update(tickets)
                    .where(tickets.c.id == row.id)
                    .values(state="resolved", resolved_at=now, resolved_by=SYSTEM)
                )
                self.record(
                    conn,
                    row.id,
                    now,
                    SYSTEM,
                    "resolved",
                    "recovered (auto)",
                    delay=self.rules.tickets.resolve_notice_delay,
                )

    def breach_deadlines(self, conn: Connection, now: datetime) -> None:
        """Mark the tickets past their response or resolution deadline, once each."""
        self._breach(
            conn, now, tickets.c.state == "open", "respond_by", "response_breached", "response"
        )
        self._breach(
            conn,
            now,
            tickets.c.state != "resolved",
            "resolve_by",
            "resolution_breached",
            "resolution",
        )

    def _breach(
        self,
        conn: Connection,
        now: datetime,
        live: ColumnElement[bool],
        deadline: str,
        flag: str,
        sla: str,
    ) -> None:
        """Mark each ``live`` ticket past its ``deadline`` column once (the ``flag`` column) and
        tell its owner's escalation contact that the ``sla`` SLA is breached."""
        for row in conn.execute(
            select(tickets).where(
                live,
                tickets.c[flag].is_(False),
                tickets.c[deadline] < now,
                tickets.c.sla_paused_since.is_(None),
            )
        ).all():
            conn.execute(update(tickets).where(tickets.c.id == row.id).values({flag: True}))
            owner = self.routing.owners.get(row.owner)
            self.record(
                conn,
                row.id,
                now,
                SYSTEM,
                "breached",
                f"{sla} SLA breached",
                extra_owner=owner.escalate_to if owner is not None else None,
                urgent=True,  # never held for a digest: the owner and its escalation act now
            )

    def pause_sla(self, conn: Connection, ticket: Any, reason: str, now: datetime) -> None:
        """A window covers the ticket: its SLA clock stops."""
        conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(sla_paused_since=now))
        self.record(conn, ticket.id, now, SYSTEM, "sla_paused", reason, notify=False)

    def resume_sla(self, conn: Connection, ticket: Any, now: datetime) -> None:
        """The window is over: the deadlines move on by the SLA time it lasted."""
        since = ticket.sla_paused_since
        owner = self.owner(ticket.owner)
        commune = ticket.commune_code
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket.id)
            .values(
                sla_paused_since=None,
                respond_by=self._extended(owner, commune, ticket.respond_by, since, now),
                resolve_by=self._extended(owner, commune, ticket.resolve_by, since, now),
            )
        )
        self.record(conn, ticket.id, now, SYSTEM, "sla_resumed", "", notify=False)

    def flush_digests(self, conn: Connection, now: datetime) -> None:
        """Send the digest of each throttled ticket whose window is over."""
        window = self.rules.tickets.flap_window
        for ticket in conn.execute(
            select(tickets).where(
                tickets.c.throttled_since.is_not(None),
                tickets.c.throttled_since <= now - window,
            )
        ).all():
            held = conn.execute(
                select(ticket_history.c.at, ticket_history.c.action, ticket_history.c.note)
                .where(
                    ticket_history.c.ticket_id == ticket.id,
                    ticket_history.c.at >= ticket.throttled_since,
                    ticket_history.c.action.in_(NOTIFIED_ACTIONS),
                )
                .order_by(ticket_history.c.id)
            ).all()
            conn.execute(
                update(tickets).where(tickets.c.id == ticket.id).values(throttled_since=None)
            )
            if not held:
                continue
            lines = "; ".join(f"{h.action} {to_local(h.at):%H:%M}" for h in held)
            note = f"{len(held)} changes since the last message ({lines}); now {ticket.state}"
            self.record(conn, ticket.id, now, SYSTEM, "digest", note, throttle=False)

    def _throttled(self, conn: Connection, ticket: Any, now: datetime) -> bool:
        """Whether a change of ``ticket`` must wait for its digest (starting the throttle)."""
        if ticket.throttled_since is not None:
            return True
        rules = self.rules.tickets
        told = conn.execute(
            select(func.count(func.distinct(outbox.c.history_id))).where(
                outbox.c.ticket_id == ticket.id,
                outbox.c.created_at > now - rules.flap_window,
                outbox.c.urgent.is_(False),
            )
        ).scalar_one()
        if told < rules.flap_messages:
            return False
        conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(throttled_since=now))
        return True

    # -- history ------------------------------------------------------------------------------

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
        delay: timedelta | None = None,
        throttle: bool = True,
    ) -> int:
        """One history row, and the messages of the change unless ``notify`` is false; due
        after ``delay``; held for the digest if the ticket's messages are throttled."""
        history_id = int(
            conn.execute(
                ticket_history.insert().values(
                    ticket_id=ticket_id, at=now, actor=actor, action=action, note=note
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=now))
        if notify:
            ticket = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one()
            if not urgent and throttle and self._throttled(conn, ticket, now):
                return history_id
            messages.queue(
                conn,
                self.routing,
                ticket,
                history_id,
                action,
                note,
                now,
                extra_owner=extra_owner,
                urgent=urgent,
                delay=delay,
            )
        return history_id


# The changes an owner is told of (and that a digest lists).
NOTIFIED_ACTIONS = ("opened", "reopened", "resolved", "reclassified", "acknowledged")
