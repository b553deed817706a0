"""Ticket figures on /metrics: tickets per state and owner, SLA breaches, undelivered messages."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from alerts.schema import outbox, tickets


class TicketCollector(Collector):
    """Reads ticket counts from the store on every scrape (any worker process can answer)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from running a full collect().
        return []

    def collect(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "cm_tickets",
            "Tickets by state, problem class and owner (Phiếu theo trạng thái)",
            labels=["state", "problem_class", "owner"],
        )
        breaches = GaugeMetricFamily(
            "cm_ticket_sla_breaches",
            "Tickets that breached their SLA, by kind (Phiếu quá hạn SLA)",
            labels=["kind", "owner"],
        )
        with self._engine.connect() as conn:
            for state, problem_class, owner, number in conn.execute(
                select(
                    tickets.c.state, tickets.c.problem_class, tickets.c.owner, func.count()
                ).group_by(tickets.c.state, tickets.c.problem_class, tickets.c.owner)
            ):
                by_state.add_metric([state, problem_class, owner], float(number))
            for kind, column in (
                ("response", tickets.c.response_breached),
                ("resolution", tickets.c.resolution_breached),
            ):
                for owner, number in conn.execute(
                    select(tickets.c.owner, func.count())
                    .where(column.is_(True))
                    .group_by(tickets.c.owner)
                ):
                    breaches.add_metric([kind, owner], float(number))
            pending = conn.execute(
                select(func.count()).where(outbox.c.sent_at.is_(None))
            ).scalar_one()
        yield by_state
        yield breaches
        yield GaugeMetricFamily(
            "cm_notifications_pending",
            "Notifications waiting in the outbox (Thông báo chưa gửi được)",
            value=float(pending),
        )
