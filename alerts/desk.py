"""What the detectors call: raise a root cause, end it, correct its times, attach members.

The desk turns a detector's :class:`Symptom` into an incident (:mod:`alerts.incidents`) and its
ticket (:mod:`alerts.lifecycle`), inside the detector's transaction, so a crash never half-applies
a decision. An active incident only gains evidence; one that ended and comes back within the
reopen window reopens its ticket instead of opening another.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from alerts import incidents, windows
from alerts.calendar import WorkingCalendar
from alerts.lifecycle import SYSTEM, Lifecycle
from alerts.routing import Routing
from alerts.rules import Rules
from alerts.schema import tickets
from alerts.ticket_text import TicketTexts

__all__ = ["SYSTEM", "Desk", "Symptom"]


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
    """Incidents and their tickets for the detectors, on a connection in a transaction."""

    def __init__(
        self,
        rules: Rules,
        routing: Routing,
        public_url: str,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.rules = rules
        self.routing = routing
        self.public_url = public_url
        self.texts = TicketTexts(routing, public_url)
        self.lifecycle = Lifecycle(rules, routing, self.texts, calendar)

    def latest(self, conn: Connection, key: str) -> Any:
        """The newest incident with ``key``, or None."""
        return incidents.latest(conn, key)

    def latest_many(self, conn: Connection, keys: Collection[str]) -> dict[str, Any]:
        """The newest incident of each of ``keys`` that has one."""
        return incidents.latest_many(conn, keys)

    def raise_(self, conn: Connection, symptom: Symptom, now: datetime) -> int:
        """Make sure the root cause has an active incident and a live ticket; returns its id.

        An active incident only gains evidence (and an earlier start, if agent time says so).
        An ended one whose ticket is still open (hold-down) or was resolved within the reopen
        window comes back: the same ticket, reopened, never a duplicate. Inside a maintenance
        window or silence covering it, the incident is recorded as in maintenance, no ticket.
        """
        row = incidents.latest(conn, symptom.key)
        if row is not None and row.active:
            values: dict[str, Any] = {
                "evidence": incidents.merge_evidence(row.evidence, symptom.evidence)
            }
            if symptom.started_at < row.started_at:
                values["started_at"] = symptom.started_at
            incidents.update_values(conn, row.id, **values)
            if "started_at" in values:
                self.texts.refresh(conn, row.id)
            return int(row.id)
        covering = self._window(conn, symptom, now)
        if row is not None:
            ticket = self.ticket_of(conn, row.id)
            reopen_window = self.rules.tickets.reopen_window
            recent = ticket is not None and (
                ticket.state != "resolved"
                or (ticket.resolved_at is not None and now - ticket.resolved_at <= reopen_window)
            )
            if recent and ticket is not None:
                if covering is not None and ticket.state == "resolved":
                    return self._in_window(conn, symptom, now, covering, row)
                return self._recur(conn, row, ticket, symptom, now)
        if covering is not None:
            return self._in_window(conn, symptom, now, covering, None)
        return self._open(conn, symptom, now)

    @staticmethod
    def _window(conn: Connection, symptom: Symptom, now: datetime) -> windows.Window | None:
        """A window covering the symptom now or when it began."""
        for at in (now, symptom.started_at):
            found = windows.covering(
                conn,
                at,
                symptom.problem_class,
                symptom.commune_code,
                symptom.device_id,
                symptom.system,
            )
            if found is not None:
                return found
        return None

    def _in_window(
        self,
        conn: Connection,
        symptom: Symptom,
        now: datetime,
        window: windows.Window,
        row: Any,
    ) -> int:
        """Record the root cause as in maintenance: an incident, and no ticket while covered."""
        note = {"_window": f"{window.spec.kind} #{window.id}: {window.spec.reason}"}
        if row is not None:
            incidents.update_values(
                conn,
                row.id,
                active=True,
                ended_at=None,
                updated_at=now,
                window_id=window.id,
                evidence=incidents.merge_evidence(row.evidence, {**symptom.evidence, **note}),
            )
            return int(row.id)
        return self._insert(conn, symptom, now, window_id=window.id, extra=note)

    def release(self, conn: Connection, incident: Any, note: str, now: datetime) -> None:
        """An incident raised in a window outlasted it: its ticket opens now."""
        incidents.update_values(conn, incident.id, window_id=None, updated_at=now)
        ticket = self.ticket_of(conn, incident.id)
        if ticket is None:
            decision = self.routing.route(
                incident.problem_class, incident.commune_code, incident.device_kind, incident.system
            )
            ticket_id = self.lifecycle.open(conn, incident.id, decision, now)
            self.lifecycle.record(conn, ticket_id, now, SYSTEM, "commented", note, notify=False)
        elif ticket.state == "resolved":
            self.lifecycle.reopen(conn, ticket, SYSTEM, note, now)

    def _open(self, conn: Connection, symptom: Symptom, now: datetime) -> int:
        incident_id = self._insert(conn, symptom, now)
        decision = self.routing.route(
            symptom.problem_class, symptom.commune_code, symptom.device_kind, symptom.system
        )
        self.lifecycle.open(conn, incident_id, decision, now)
        return incident_id

    @staticmethod
    def _insert(
        conn: Connection,
        symptom: Symptom,
        now: datetime,
        *,
        window_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> int:
        evidence = {
            **(extra or {}),
            **symptom.evidence,
            "_signal_vi": symptom.signal_vi,
            "_signal_en": symptom.signal_en,
            **(
                {"_system_vi": symptom.system_vi, "_system_en": symptom.system_en}
                if symptom.system_vi
                else {}
            ),
        }
        return incidents.insert(
            conn,
            {
                "key": symptom.key,
                "problem_class": symptom.problem_class,
                "commune_code": symptom.commune_code,
                "device_id": symptom.device_id,
                "device_kind": symptom.device_kind,
                "system": symptom.system,
                "signal": symptom.signal,
                "started_at": symptom.started_at,
                "ended_at": None,
                "updated_at": now,
                "active": True,
                "recurrences": 0,
                "evidence": json.dumps(evidence, ensure_ascii=False),
                "window_id": window_id,
            },
        )

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
        incidents.update_values(
            conn,
            row.id,
            active=True,
            ended_at=None,
            updated_at=now,
            recurrences=recurrences,
            problem_class=problem_class,
            evidence=incidents.merge_evidence(row.evidence, symptom.evidence),
        )
        if problem_class != row.problem_class:
            self.lifecycle.reclassify(
                conn,
                ticket,
                problem_class,
                f"{row.problem_class} -> {problem_class} after {recurrences + 1} outages",
                now,
            )
            ticket = self.ticket_of(conn, row.id)  # its new owner's SLA applies from now on
        if ticket.state == "resolved":
            self.lifecycle.reopen(conn, ticket, SYSTEM, "the same root cause returned", now)
        else:
            self.texts.refresh(conn, row.id)
        return int(row.id)

    def end(self, conn: Connection, incident_id: int, ended_at: datetime, now: datetime) -> None:
        """The root cause recovered at ``ended_at`` (agent time); the ticket waits the hold-down."""
        incidents.end(conn, incident_id, ended_at, now)
        self.texts.refresh(conn, incident_id)

    def end_key(self, conn: Connection, key: str, at: datetime, now: datetime) -> bool:
        """End the active incident of ``key`` at ``at`` (not before it began); whether one was."""
        row = incidents.latest(conn, key)
        if row is None or not row.active:
            return False
        self.end(conn, row.id, max(at, row.started_at), now)
        return True

    def move_end(self, conn: Connection, incident_id: int, ended_at: datetime) -> None:
        """Agent time showed the recovery was at ``ended_at``: correct the recorded end."""
        incidents.update_values(conn, incident_id, ended_at=ended_at)
        self.texts.refresh(conn, incident_id)

    def move_start(self, conn: Connection, incident_id: int, started_at: datetime) -> None:
        """Agent time showed the root cause began at ``started_at``: correct the recorded start."""
        incidents.update_values(conn, incident_id, started_at=started_at)
        self.texts.refresh(conn, incident_id)

    def attach(
        self, conn: Connection, incident_id: int, subject: str, signal: str, started_at: datetime
    ) -> None:
        """Keep a member symptom (a silent agent of a cut commune) under its incident."""
        incidents.attach(conn, incident_id, subject, signal, started_at)

    @staticmethod
    def ticket_of(conn: Connection, incident_id: int) -> Any:
        """The ticket of an incident, or None."""
        return conn.execute(select(tickets).where(tickets.c.incident_id == incident_id)).first()
