"""Maintenance windows and silences over time (:mod:`alerts.windows`): an incident raised in a
window that outlasts it gets its ticket when the window ends, and the SLA clock of every ticket a
window covers stops while it does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from alerts import windows
from alerts.desk import Desk
from alerts.observations import Observations
from alerts.schema import incidents, tickets


class WindowDetector:
    """Releases incidents from ended windows; pauses and resumes SLA clocks."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """Nothing: windows are judged on the clock."""

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Release what outlasted its window; pause or resume the SLA of covered tickets."""
        current = windows.current(conn, now)
        self._release(conn, current, now)
        self._pause(conn, current, now)

    def _release(self, conn: Connection, current: list[windows.Window], now: datetime) -> None:
        for row in conn.execute(
            select(incidents).where(
                incidents.c.window_id.is_not(None), incidents.c.active.is_(True)
            )
        ).all():
            covered = any(
                window.id == row.window_id
                and window.covers(
                    now, row.problem_class, row.commune_code, row.device_id, row.system
                )
                for window in current
            )
            if not covered:
                self.desk.release(
                    conn,
                    row,
                    f"the problem outlasted maintenance window #{row.window_id}",
                    now,
                )

    def _pause(self, conn: Connection, current: list[windows.Window], now: datetime) -> None:
        for ticket in conn.execute(select(tickets).where(tickets.c.state != "resolved")).all():
            covering = next(
                (
                    window
                    for window in current
                    if window.covers(
                        now,
                        ticket.problem_class,
                        ticket.commune_code,
                        ticket.device_id,
                        ticket.system,
                    )
                ),
                None,
            )
            if covering is not None and ticket.sla_paused_since is None:
                self.desk.lifecycle.pause_sla(
                    conn,
                    ticket,
                    f"{covering.spec.kind} #{covering.id}: {covering.spec.reason}",
                    now,
                )
            elif covering is None and ticket.sla_paused_since is not None:
                self.desk.lifecycle.resume_sla(conn, ticket, now)
