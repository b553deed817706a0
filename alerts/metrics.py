"""Ticket figures on /metrics: tickets per state, class, owner and commune, SLA breaches,
undelivered messages; and the collector guards of the silence sweep.

Every family carries ``province`` (and the ticket families ``commune_code``) so that one
database or one national Prometheus can hold every province and the dashboards filter on it,
as they do on ``cm_device_*``. A ticket without a commune (``software_outage`` covers many) gets
``commune_code=""`` and the collector's own province.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select

from alerts.guards import GUARDS, Guards
from alerts.schema import outbox, tickets
from collector.schema import communes

TICKET_LABELS = ["province", "commune_code", "problem_class", "owner", "state"]


def collector_province(conn: Connection, configured: str | None = None) -> str:
    """The province one collector serves: ``configured``, else the only province of its
    commune table, else "" (a store holding several provinces names none)."""
    if configured:
        return configured
    found = conn.execute(select(communes.c.province_code).distinct().limit(2)).scalars().all()
    return found[0] if len(found) == 1 else ""


class TicketCollector(Collector):
    """Reads ticket counts from the store on every scrape (any worker process can answer)."""

    def __init__(self, engine: Engine, province: str | None = None) -> None:
        self._engine = engine
        self._configured = province
        self._province: str | None = None

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from running a full collect().
        return []

    def collect(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "cm_tickets",
            "Tickets by state, problem class, owner and commune (Phiếu theo trạng thái)",
            labels=TICKET_LABELS,
        )
        breaches = GaugeMetricFamily(
            "cm_ticket_sla_breaches",
            "Tickets that breached their SLA, by kind and the ticket's state now "
            "(Phiếu quá hạn SLA)",
            labels=[*TICKET_LABELS, "kind"],
        )
        keys = (
            communes.c.province_code,
            tickets.c.commune_code,
            tickets.c.problem_class,
            tickets.c.owner,
            tickets.c.state,
        )
        # Outer join: a ticket whose commune is not (or no longer) in the table still counts.
        source = tickets.outerjoin(communes, communes.c.code == tickets.c.commune_code)
        with self._engine.connect() as conn:
            # Cached once known; an empty answer is asked again (communes may be loaded later).
            own = self._province or collector_province(conn, self._configured)
            self._province = own or None
            for province, commune, problem_class, owner, state, number in conn.execute(
                select(*keys, func.count()).select_from(source).group_by(*keys)
            ):
                by_state.add_metric(
                    [province or own, commune or "", problem_class, owner, state], float(number)
                )
            for kind, column in (
                ("response", tickets.c.response_breached),
                ("resolution", tickets.c.resolution_breached),
            ):
                for province, commune, problem_class, owner, state, number in conn.execute(
                    select(*keys, func.count())
                    .select_from(source)
                    .where(column.is_(True))
                    .group_by(*keys)
                ):
                    breaches.add_metric(
                        [province or own, commune or "", problem_class, owner, state, kind],
                        float(number),
                    )
            pending = conn.execute(
                select(func.count()).where(outbox.c.sent_at.is_(None))
            ).scalar_one()
        yield by_state
        yield breaches
        notifications = GaugeMetricFamily(
            "cm_notifications_pending",
            "Notifications waiting in the outbox (Thông báo chưa gửi được)",
            labels=["province"],
        )
        notifications.add_metric([own], float(pending))
        yield notifications


class GuardCollector(Collector):
    """The collector guards of the alert sweep (:mod:`alerts.guards`): which hold now, and how
    often each has engaged, so a gap in silence judgement is never invisible."""

    def __init__(self, guards: Guards) -> None:
        self._guards = guards

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        active = GaugeMetricFamily(
            "cm_alert_guard_active",
            "1 while silence is not judged because the collector itself is behind: just started, "
            "journal processing lagging or ingest stalled (Tạm dừng đánh giá mất liên lạc)",
            labels=["guard"],
        )
        engaged = CounterMetricFamily(
            "cm_alert_guard_engagements",
            "Times each collector guard engaged (Số lần tạm dừng đánh giá mất liên lạc)",
            labels=["guard"],
        )
        for name in GUARDS:
            active.add_metric([name], 1.0 if name in self._guards.active else 0.0)
            engaged.add_metric([name], float(self._guards.engaged_total.get(name, 0)))
        yield active
        yield engaged
