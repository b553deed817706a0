"""The figures of the monthly and quarterly report DOST sends the provincial People's Committee and
finance applies the ISP's and vendors' contract penalties with: availability in opening hours
per province and commune, incidents by class, SLA compliance per owner (one owner of
routing.yaml is one contract), and the communes down longest.

Pure arithmetic over rows read once from the store (:func:`gather`), so the console, the API and
the CLI report the same figures; the files are written elsewhere (``web.report_files``).

Definitions (docs/reports.md):

- *Availability* as ``alerts.availability``: 1 − open time inside a site outage / open time the
  commune was monitored, opening hours from the working calendar, from its first report.
- *Incidents*: root causes (``alert_incidents``) that began in the period, by problem class; those
  raised inside a maintenance window or silence are counted apart (no ticket, no SLA).
- *SLA per owner*, over the tickets opened in the period. Response: met when the first
  acknowledgement (or the resolution, for a problem that went away first) came by ``respond_by``
  and the ticket was never flagged ``response_breached``; breached when flagged, late, or still
  waiting past the deadline; pending otherwise. Resolution likewise with ``resolved_at``,
  ``resolve_by`` and ``resolution_breached``. Breach notices are the ``breached`` rows of
  ``ticket_history`` written in the period (any ticket). The longest resolution is opening to
  resolution in wall time, or to *now* for a ticket still unresolved.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from alerts.availability import (
    Interval,
    availability_between,
    monitored_since,
    outages_between,
)
from alerts.calendar import WorkingCalendar
from alerts.report_period import Period
from alerts.routing import Owner, Routing
from alerts.schema import incidents, ticket_history, tickets
from collector.schema import communes, provinces

TOP_DOWNTIME = 10


@dataclass(frozen=True, slots=True)
class CommuneFigures:
    """One monitored commune over the period."""

    code: str
    name: str
    province_code: str
    open_time: timedelta
    down_time: timedelta
    availability: float | None
    outages: int  # site outages overlapping the period
    incidents: int  # incidents of any class that began in the period
    tickets: int  # tickets opened in the period


@dataclass(frozen=True, slots=True)
class ProvinceFigures:
    """A province's communes taken together (availability weighted by open time)."""

    code: str
    name: str
    communes_total: int
    communes_monitored: int
    open_time: timedelta
    down_time: timedelta
    incidents: int
    tickets: int

    @property
    def availability(self) -> float | None:
        """1 − downtime / open time over every monitored commune; None without open time."""
        if self.open_time <= timedelta(0):
            return None
        return max(0.0, 1.0 - self.down_time / self.open_time)


@dataclass(frozen=True, slots=True)
class ClassFigures:
    """Incidents of one problem class that began in the period."""

    problem_class: str
    incidents: int
    in_window: int  # raised inside a maintenance window or silence
    communes: int  # distinct communes touched
    tickets: int  # tickets of this class opened in the period


@dataclass(frozen=True, slots=True)
class SlaCount:
    """Met, breached and pending counts of one SLA (response or resolution)."""

    met: int = 0
    breached: int = 0
    pending: int = 0

    @property
    def compliance(self) -> float | None:
        """Met / (met + breached); None when nothing was decided yet."""
        decided = self.met + self.breached
        return self.met / decided if decided else None


@dataclass(frozen=True, slots=True)
class OwnerFigures:
    """One owner (team or vendor contract) over the tickets opened in the period."""

    owner: str
    name_vi: str
    name_en: str
    kind: str  # team, vendor, or "" for an owner routing.yaml no longer has
    sla_respond: timedelta | None
    sla_resolve: timedelta | None
    sla_clock: str
    opened: int
    response: SlaCount
    resolution: SlaCount
    response_notices: int  # 'breached' history rows of the period (response)
    resolution_notices: int  # (resolution)
    longest: timedelta | None
    longest_ticket: int | None
    longest_ongoing: bool  # the longest is a ticket still unresolved

    @property
    def breaches(self) -> int:
        """Tickets of the period that breached either SLA."""
        return self.response.breached + self.resolution.breached


@dataclass(frozen=True)
class OfficialReport:
    """Every figure of one period's report."""

    period: Period
    generated_at: datetime
    provinces: tuple[ProvinceFigures, ...]
    communes: tuple[CommuneFigures, ...]
    classes: tuple[ClassFigures, ...]
    owners: tuple[OwnerFigures, ...]
    top_downtime: tuple[CommuneFigures, ...] = field(default=())

    @property
    def until(self) -> datetime:
        """Where the figures stop: the period's end, or now for a period still running."""
        return min(self.period.end, self.generated_at)

    @property
    def complete(self) -> bool:
        """Whether the period had ended when the report was made."""
        return self.generated_at >= self.period.end

    @property
    def tickets_opened(self) -> int:
        """Tickets opened in the period, every owner."""
        return sum(owner.opened for owner in self.owners)


# -- reading the store -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """What one report reads from the store, once."""

    communes: Mapping[str, tuple[str, str]]  # code -> (name, province code)
    provinces: Mapping[str, str]  # code -> name
    since: Mapping[str, datetime]  # first report per commune
    outages: Mapping[str, list[Interval]]
    incidents: list[Any]  # began in the period
    tickets: list[Any]  # opened in the period
    notices: list[Any]  # 'breached' history rows in the period, with the ticket's owner


def read_rows(conn: Connection, period: Period, now: datetime) -> Rows:
    """The rows of ``period`` (those up to ``now`` for a period still running)."""
    start, end = period.start, min(period.end, now)
    names = {
        row.code: (row.name, row.province_code)
        for row in conn.execute(select(communes.c.code, communes.c.name, communes.c.province_code))
    }
    province_names = {row.code: row.name for row in conn.execute(select(provinces))}
    began = conn.execute(
        select(
            incidents.c.id,
            incidents.c.problem_class,
            incidents.c.commune_code,
            incidents.c.window_id,
        ).where(incidents.c.started_at >= start, incidents.c.started_at < end)
    ).all()
    opened = conn.execute(
        select(tickets).where(tickets.c.opened_at >= start, tickets.c.opened_at < end)
    ).all()
    notices = conn.execute(
        select(ticket_history.c.ticket_id, ticket_history.c.note, tickets.c.owner)
        .join(tickets, tickets.c.id == ticket_history.c.ticket_id)
        .where(
            ticket_history.c.action == "breached",
            ticket_history.c.at >= start,
            ticket_history.c.at < end,
        )
    ).all()
    return Rows(
        communes=names,
        provinces=province_names,
        since=monitored_since(conn),
        outages=outages_between(conn, start, end, now),
        incidents=list(began),
        tickets=list(opened),
        notices=list(notices),
    )


def gather(
    engine: Engine,
    period: Period,
    now: datetime,
    calendar: WorkingCalendar,
    routing: Routing | None,
) -> OfficialReport:
    """The report of ``period`` as the store holds it at ``now``."""
    with engine.connect() as conn:
        rows = read_rows(conn, period, now)
    return compute(rows, period, now, calendar, routing)


# -- the arithmetic ----------------------------------------------------------------------------


def compute(
    rows: Rows,
    period: Period,
    now: datetime,
    calendar: WorkingCalendar,
    routing: Routing | None,
) -> OfficialReport:
    """Every figure of the report from the rows read (pure)."""
    end = min(period.end, now)
    commune_rows = _communes(rows, period.start, end, calendar)
    owners = _owners(rows.tickets, rows.notices, routing, now)
    ranked = sorted(
        (c for c in commune_rows if c.down_time > timedelta(0)),
        key=lambda c: (-c.down_time, c.code),
    )
    return OfficialReport(
        period=period,
        generated_at=now,
        provinces=_provinces(rows, commune_rows),
        communes=tuple(commune_rows),
        classes=_classes(rows),
        owners=owners,
        top_downtime=tuple(ranked[:TOP_DOWNTIME]),
    )


def _communes(
    rows: Rows, start: datetime, end: datetime, calendar: WorkingCalendar
) -> list[CommuneFigures]:
    incidents_at = Counter(row.commune_code for row in rows.incidents if row.commune_code)
    tickets_at = Counter(row.commune_code for row in rows.tickets if row.commune_code)
    out = []
    for code, first in sorted(rows.since.items()):
        if first >= end:
            continue  # monitoring began after the period
        outages = rows.outages.get(code, [])
        figures = availability_between(outages, first, start, end, calendar, code)
        name, province = rows.communes.get(code, (code, ""))
        out.append(
            CommuneFigures(
                code=code,
                name=name,
                province_code=province,
                open_time=figures.open_time,
                down_time=figures.down_time,
                availability=figures.share,
                outages=len(outages),
                incidents=incidents_at[code],
                tickets=tickets_at[code],
            )
        )
    return out


def _provinces(rows: Rows, monitored: list[CommuneFigures]) -> tuple[ProvinceFigures, ...]:
    totals = Counter(province for _name, province in rows.communes.values())
    of = {code: province for code, (_name, province) in rows.communes.items()}
    incidents_in = Counter(of.get(r.commune_code, "") for r in rows.incidents if r.commune_code)
    tickets_in = Counter(of.get(r.commune_code, "") for r in rows.tickets if r.commune_code)
    by_province: dict[str, list[CommuneFigures]] = defaultdict(list)
    for commune in monitored:
        by_province[commune.province_code].append(commune)
    out = []
    for code in sorted(set(by_province) | set(incidents_in) | set(tickets_in)):
        members = by_province.get(code, [])
        out.append(
            ProvinceFigures(
                code=code,
                name=rows.provinces.get(code, code),
                communes_total=totals[code],
                communes_monitored=len(members),
                open_time=sum((c.open_time for c in members), start=timedelta(0)),
                down_time=sum((c.down_time for c in members), start=timedelta(0)),
                incidents=incidents_in[code],
                tickets=tickets_in[code],
            )
        )
    return tuple(out)


def _classes(rows: Rows) -> tuple[ClassFigures, ...]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows.incidents:
        grouped[row.problem_class].append(row)
    opened = Counter(row.problem_class for row in rows.tickets)
    out = []
    for name in sorted(set(grouped) | set(opened)):
        members = grouped.get(name, [])
        out.append(
            ClassFigures(
                problem_class=name,
                incidents=len(members),
                in_window=sum(1 for r in members if r.window_id is not None),
                communes=len({r.commune_code for r in members if r.commune_code}),
                tickets=opened[name],
            )
        )
    return tuple(sorted(out, key=lambda c: (-c.incidents, c.problem_class)))


def _judge(
    done_at: datetime | None,
    deadline: datetime,
    flagged: bool,
    paused: bool,
    now: datetime,
) -> str:
    """met, breached or pending for one SLA of one ticket."""
    if flagged or (done_at is not None and done_at > deadline):
        return "breached"
    if done_at is not None:
        return "met"
    return "breached" if deadline < now and not paused else "pending"


def _first(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _owners(
    opened: Iterable[Any], notices: Iterable[Any], routing: Routing | None, now: datetime
) -> tuple[OwnerFigures, ...]:
    by_owner: dict[str, list[Any]] = defaultdict(list)
    for row in opened:
        by_owner[row.owner].append(row)
    notice_count: Counter[tuple[str, str]] = Counter()
    for row in notices:
        kind = "resolution" if row.note.startswith("resolution") else "response"
        notice_count[(row.owner, kind)] += 1
    known: Mapping[str, Owner] = routing.owners if routing is not None else {}
    ids = list(known) + sorted(
        {o for o in by_owner if o not in known} | {o for o, _k in notice_count if o not in known}
    )
    return tuple(_owner(o, known.get(o), by_owner.get(o, []), notice_count, now) for o in ids)


def _owner(
    owner_id: str,
    owner: Owner | None,
    rows: list[Any],
    notices: Counter[tuple[str, str]],
    now: datetime,
) -> OwnerFigures:
    response: Counter[str] = Counter()
    resolution: Counter[str] = Counter()
    longest: tuple[timedelta, int, bool] | None = None
    for row in rows:
        paused = row.sla_paused_since is not None
        responded = _first(row.acknowledged_at, row.resolved_at)
        response[_judge(responded, row.respond_by, row.response_breached, paused, now)] += 1
        resolution[
            _judge(row.resolved_at, row.resolve_by, row.resolution_breached, paused, now)
        ] += 1
        took = (row.resolved_at or now) - row.opened_at
        if longest is None or took > longest[0]:
            longest = (took, int(row.id), row.resolved_at is None)
    return OwnerFigures(
        owner=owner_id,
        name_vi=owner.name_vi if owner is not None else owner_id,
        name_en=(owner.name_en or owner.name_vi) if owner is not None else owner_id,
        kind=owner.kind if owner is not None else "",
        sla_respond=owner.sla.respond if owner is not None else None,
        sla_resolve=owner.sla.resolve if owner is not None else None,
        sla_clock=owner.sla.clock if owner is not None else "",
        opened=len(rows),
        response=SlaCount(response["met"], response["breached"], response["pending"]),
        resolution=SlaCount(resolution["met"], resolution["breached"], resolution["pending"]),
        response_notices=notices[(owner_id, "response")],
        resolution_notices=notices[(owner_id, "resolution")],
        longest=longest[0] if longest else None,
        longest_ticket=longest[1] if longest else None,
        longest_ongoing=longest[2] if longest else False,
    )


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def _commune_json(c: CommuneFigures) -> dict[str, Any]:
    return {
        "code": c.code,
        "name": c.name,
        "province_code": c.province_code,
        "open_seconds": _seconds(c.open_time),
        "down_seconds": _seconds(c.down_time),
        "availability": c.availability,
        "outages": c.outages,
        "incidents": c.incidents,
        "tickets": c.tickets,
    }


def _sla_json(count: SlaCount) -> dict[str, Any]:
    return {
        "met": count.met,
        "breached": count.breached,
        "pending": count.pending,
        "compliance": count.compliance,
    }


def _owner_json(o: OwnerFigures) -> dict[str, Any]:
    return {
        "owner": o.owner,
        "name_vi": o.name_vi,
        "name_en": o.name_en,
        "kind": o.kind,
        "sla_respond_seconds": _seconds(o.sla_respond),
        "sla_resolve_seconds": _seconds(o.sla_resolve),
        "sla_clock": o.sla_clock,
        "opened": o.opened,
        "response": _sla_json(o.response),
        "resolution": _sla_json(o.resolution),
        "response_notices": o.response_notices,
        "resolution_notices": o.resolution_notices,
        "longest_seconds": _seconds(o.longest),
        "longest_ticket": o.longest_ticket,
        "longest_ongoing": o.longest_ongoing,
    }


def to_json(report: OfficialReport) -> dict[str, Any]:
    """The report as plain JSON (the API's ``format=json``): seconds for durations, shares 0..1."""
    return {
        "period": report.period.label,
        "kind": report.period.kind,
        "start": report.period.start.isoformat(),
        "end": report.period.end.isoformat(),
        "generated_at": report.generated_at.isoformat(),
        "complete": report.complete,
        "provinces": [
            {
                "code": p.code,
                "name": p.name,
                "communes_total": p.communes_total,
                "communes_monitored": p.communes_monitored,
                "open_seconds": _seconds(p.open_time),
                "down_seconds": _seconds(p.down_time),
                "availability": p.availability,
                "incidents": p.incidents,
                "tickets": p.tickets,
            }
            for p in report.provinces
        ],
        "communes": [_commune_json(c) for c in report.communes],
        "top_downtime": [_commune_json(c) for c in report.top_downtime],
        "classes": [
            {
                "problem_class": c.problem_class,
                "incidents": c.incidents,
                "in_window": c.in_window,
                "communes": c.communes,
                "tickets": c.tickets,
            }
            for c in report.classes
        ],
        "owners": [_owner_json(o) for o in report.owners],
    }
