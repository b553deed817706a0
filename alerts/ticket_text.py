"""A ticket's title and body, kept in step with its incident (times, evidence, owner); a ticket
people reported is told from its reports (``alerts.report_text``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select, update

from alerts import incidents
from alerts.categories import bundled_categories
from alerts.report_text import ReportFacts, render_reported
from alerts.routing import Routing
from alerts.schema import reports, tickets
from alerts.text import TicketText, render
from collector.schema import communes


class TicketTexts:
    """Renders and stores ticket texts; remembers commune names (they never change)."""

    def __init__(self, routing: Routing, public_url: str) -> None:
        self.routing = routing
        self.public_url = public_url
        self._commune_names: dict[str, str] = {}

    def commune_name(self, conn: Connection, code: str | None) -> str | None:
        """The commune's name (its code if unknown); None for none."""
        if code is None:
            return None
        if code not in self._commune_names:
            name = conn.execute(select(communes.c.name).where(communes.c.code == code)).scalar()
            self._commune_names[code] = name or code
        return self._commune_names[code]

    def refresh(self, conn: Connection, incident_id: int) -> None:
        """Render the ticket of ``incident_id`` (if it has one) from its incident, and store it."""
        row = incidents.get(conn, incident_id)
        ticket = conn.execute(select(tickets).where(tickets.c.incident_id == incident_id)).first()
        if ticket is None:
            return
        owner = (
            self.routing.owners.get(ticket.owner) or self.routing.owners[self.routing.default_owner]
        )
        if row.category is not None:
            reported = self._reported(conn, row, int(ticket.id), owner.name_vi, owner.name_en)
            if reported is not None:
                self._store(conn, int(ticket.id), reported)
                return
        evidence: dict[str, Any] = json.loads(row.evidence)
        signal_vi = evidence.pop("_signal_vi", "")
        signal_en = evidence.pop("_signal_en", "")
        system_vi = evidence.pop("_system_vi", "")
        system_en = evidence.pop("_system_en", "")
        window = evidence.pop("_window", None)
        if window:
            evidence["maintenance window"] = window
        affected = evidence.pop("communes", None)
        if isinstance(affected, list):
            # A software outage lists the communes it hits, by name and code.
            affected = [f"{self.commune_name(conn, str(code))} ({code})" for code in affected]
        text: TicketText = render(
            ticket_id=int(ticket.id),
            problem_class=row.problem_class,
            commune_code=row.commune_code,
            commune_name=self.commune_name(conn, row.commune_code),
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
        self._store(conn, int(ticket.id), text)

    @staticmethod
    def _store(conn: Connection, ticket_id: int, text: TicketText) -> None:
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(
                title_vi=text.title_vi,
                title_en=text.title_en,
                body_vi=text.body_vi,
                body_en=text.body_en,
            )
        )

    def _reported(
        self, conn: Connection, row: Any, ticket_id: int, owner_vi: str, owner_en: str
    ) -> TicketText | None:
        """The text of a ticket people reported, from its first report (None if its category
        is no longer in categories.yaml: it is then shown as its class)."""
        category = bundled_categories().get(row.category)
        listed = conn.execute(
            select(reports).where(reports.c.incident_id == row.id).order_by(reports.c.id)
        ).all()
        if category is None or not listed:
            return None
        first = listed[0]
        facts = ReportFacts(
            description=first.description,
            message=first.message,
            reporter_name=first.reporter_name,
            reporter_phone=first.reporter_phone,
            counter=first.counter,
            at=first.at,
            actor=first.actor,
            count=len(listed),
        )
        return render_reported(
            ticket_id=ticket_id,
            category=category,
            commune_code=row.commune_code,
            commune_name=self.commune_name(conn, row.commune_code),
            device_id=row.device_id,
            facts=facts,
            ended_at=row.ended_at,
            owner_vi=owner_vi,
            owner_en=owner_en,
            public_url=self.public_url,
        )
