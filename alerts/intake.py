"""Problems people report (issue 22): what the report form, ``POST /api/v1/tickets`` and
``commune-monitor tickets create`` share.

A report names a commune, optionally a device or a counter, a category (``categories.yaml``),
a description, the software's error message where the category asks for it, and the reporter's
name and phone. It joins the open ticket of its commune that covers it: one reported earlier in
the same category, or one the detectors opened of a class the category joins (a province-wide
software or upstream outage when its evidence lists the commune): "đã có phiếu #18", the owner
told of the report. Otherwise it opens a ticket of the category's problem class, routed by the
routing like any other (a person's report is never held back by a maintenance window: somebody
asked for help). Either way the report, the ticket change and the audit line are one
transaction.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, Engine, and_, or_, select

from alerts import incidents
from alerts.categories import Category, bundled_categories
from alerts.desk import Desk
from alerts.errors import AlertsError
from alerts.schema import incidents as incident_rows
from alerts.schema import reports, tickets
from collector import audit
from collector.errors import ReportRejected
from collector.schema import communes, device_state

SOURCES = ("console", "api", "cli")
# Province-wide incidents (no commune of their own): joined when their evidence lists the commune.
PROVINCE_WIDE = ("software_outage", "upstream_outage")
# Devices a person cannot point at on a counter: probes of central systems, line pings.
NOT_REPORTABLE_KINDS = ("service", "link")
MAX_DEVICES_LISTED = 300

# Control characters but tab and line feed: NUL cannot be stored in PostgreSQL text, and the rest
# would only hide what was typed.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


class ReportInvalid(ReportRejected, AlertsError):
    """A report cannot be taken as given; ``field`` names the bad field (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field, status=422)
        self.reason = message


def clean_text(value: str) -> str:
    """Typed text as stored: line ends as ``\\n``, other control characters as spaces, trimmed;
    text that is not valid Unicode (a lone surrogate from JSON) is refused."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid text (a lone surrogate)") from None
    return _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def phone_number(value: str) -> str:
    """A phone number without its spaces, dots, dashes and brackets; refused unless 8-15 digits
    (an optional leading +)."""
    compact = _PHONE_SEPARATORS.sub("", value)
    if not _PHONE.match(compact):
        raise ValueError(
            f"{value[:30]!r} is not a phone number: 8-15 digits, optionally starting with +, "
            "e.g. 0912 345 678"
        )
    return compact


class ReportIn(BaseModel):
    """A problem a person reports (the caller is taken from the login or token, never here)."""

    model_config = ConfigDict(extra="forbid")

    commune_code: str = Field(pattern=r"^[0-9]{5}$", description="Commune code (5 digits)")
    category: str = Field(max_length=40, description="Category id of categories.yaml")
    description: str = Field(min_length=3, max_length=4000, description="What happens")
    reporter_name: str = Field(min_length=2, max_length=200, description="Who reports it")
    reporter_phone: str = Field(max_length=40, description="Their phone number, to call back")
    device_id: str | None = Field(default=None, max_length=128, description="Device, if known")
    counter: str | None = Field(default=None, max_length=40, description="Counter, e.g. 'Quầy 3'")
    message: str = Field(
        default="", max_length=2000, description="The software's error message (software_error)"
    )

    @field_validator("description", "reporter_name", "message", "device_id", "counter")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value)

    @field_validator("description", "reporter_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if len(value) < 2:
            raise ValueError("is empty")
        return value

    @field_validator("device_id", "counter")
    @classmethod
    def _optional(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("reporter_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return phone_number(value)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        known = bundled_categories().ids
        if value not in known:
            raise ValueError(f"{value[:40]!r} is not one of {', '.join(known)}")
        return value


@dataclass(frozen=True, slots=True)
class Intake:
    """What became of a report: the ticket it opened or joined."""

    ticket_id: int
    report_id: int
    attached: bool

    @property
    def message_vi(self) -> str:
        """What the reporter is told, in Vietnamese."""
        if self.attached:
            return f"Đã có phiếu #{self.ticket_id} cho sự cố này; phản ánh đã được ghi vào phiếu."
        return f"Đã tạo phiếu #{self.ticket_id}."

    @property
    def message_en(self) -> str:
        """What the reporter is told, in English."""
        if self.attached:
            return f"Ticket #{self.ticket_id} already covers this; the report was added to it."
        return f"Ticket #{self.ticket_id} opened."


def report_problem(
    engine: Engine,
    desk: Desk,
    report: ReportIn,
    actor: str,
    source: str,
    now: datetime,
    *,
    communes_allowed: Collection[str] | None = None,
) -> Intake:
    """Take a report: join the open ticket that covers it or open one; ``communes_allowed``
    limits a commune user to their communes. Raises ReportInvalid naming the field."""
    category = bundled_categories().get(report.category)
    if category is None:  # checked by ReportIn; a model built without validation still fails
        raise ReportInvalid("category", f"{report.category!r} is not a category")
    if communes_allowed is not None and report.commune_code not in communes_allowed:
        allowed = ", ".join(sorted(communes_allowed)) or "none"
        raise ReportInvalid(
            "commune_code", f"{report.commune_code} is not one of your communes ({allowed})"
        )
    if category.needs_message and not report.message:
        raise ReportInvalid("message", f"category {category.id} needs the software's message")
    with engine.begin() as conn:
        device_kind = _check_place(conn, report)
        joined = _covering_ticket(conn, category, report.commune_code, report.device_id)
        if joined is not None:
            report_id = _insert_report(
                conn, report, int(joined.incident_id), actor, source, now, attached=True
            )
            note = _note(category, report)
            desk.lifecycle.record(conn, int(joined.id), now, actor, "reported", note)
            if joined.category is not None:
                desk.texts.refresh(conn, int(joined.incident_id))  # its count of reports
            intake = Intake(int(joined.id), report_id, attached=True)
        else:
            incident_id = incidents.insert(conn, _incident(report, category, device_kind, now))
            report_id = _insert_report(
                conn, report, incident_id, actor, source, now, attached=False
            )
            decision = desk.routing.route(
                category.problem_class, report.commune_code, device_kind, None
            )
            ticket_id = desk.lifecycle.open(conn, incident_id, decision, now)
            # Who reported it, in the history (the opening message already tells all of it).
            note = _note(category, report)
            desk.lifecycle.record(conn, ticket_id, now, actor, "reported", note, notify=False)
            intake = Intake(ticket_id, report_id, attached=False)
        detail = f"{category.id} via {source}" + (" (joined)" if intake.attached else "")
        audit.record(conn, now, actor, "ticket_reported", f"ticket:{intake.ticket_id}", detail)
    return intake


def _check_place(conn: Connection, report: ReportIn) -> str | None:
    """The commune must exist, and the device (if named) be one of its; the device's kind."""
    found = conn.execute(select(communes.c.code).where(communes.c.code == report.commune_code))
    if found.first() is None:
        raise ReportInvalid(
            "commune_code", f"{report.commune_code} is not a commune of this collector"
        )
    if report.device_id is None:
        return None
    kind = conn.execute(
        select(device_state.c.kind).where(
            device_state.c.commune_code == report.commune_code,
            device_state.c.device_id == report.device_id,
        )
    ).scalar_one_or_none()
    if kind is None:
        raise ReportInvalid(
            "device_id",
            f"{report.device_id[:64]!r} is not a device of commune {report.commune_code}; "
            "leave it empty or name the counter instead",
        )
    return str(kind)


def _covering_ticket(
    conn: Connection, category: Category, commune: str, device_id: str | None
) -> Any:
    """The open ticket this report joins, or None: the same device's first, then the commune's
    newest, then a province-wide outage that lists the commune."""
    live = tickets.c.state != "resolved"
    columns = (tickets.c.id, tickets.c.incident_id, tickets.c.device_id, incident_rows.c.category)
    same = or_(
        incident_rows.c.category == category.id,
        and_(
            incident_rows.c.category.is_(None),
            incident_rows.c.problem_class.in_(category.joins),
        ),
    )
    local = conn.execute(
        select(*columns)
        .join(incident_rows, incident_rows.c.id == tickets.c.incident_id)
        .where(live, incident_rows.c.commune_code == commune, same)
        .order_by(tickets.c.id.desc())
        .limit(50)
    ).all()
    if local:
        return next((row for row in local if device_id and row.device_id == device_id), local[0])
    wide = [name for name in category.joins if name in PROVINCE_WIDE]
    if not wide:
        return None
    for row in conn.execute(
        select(*columns, incident_rows.c.evidence)
        .join(incident_rows, incident_rows.c.id == tickets.c.incident_id)
        .where(
            live, incident_rows.c.commune_code.is_(None), incident_rows.c.problem_class.in_(wide)
        )
        .order_by(tickets.c.id.desc())
        .limit(20)
    ):
        listed = json.loads(row.evidence).get("communes")
        if isinstance(listed, list) and commune in listed:
            return row
    return None


def _incident(
    report: ReportIn, category: Category, device_kind: str | None, now: datetime
) -> dict[str, Any]:
    return {
        # One incident per report that opens a ticket: later reports join it while it is open.
        "key": f"reported:{report.commune_code}:{category.id}:{secrets.token_hex(8)}",
        "problem_class": category.problem_class,
        "commune_code": report.commune_code,
        "device_id": report.device_id,
        "device_kind": device_kind,
        "system": None,
        "signal": f"reported:{category.id}",
        "started_at": now,
        "ended_at": None,
        "updated_at": now,
        "active": True,
        "recurrences": 0,
        "evidence": "{}",
        "window_id": None,
        "category": category.id,
    }


def _insert_report(
    conn: Connection,
    report: ReportIn,
    incident_id: int,
    actor: str,
    source: str,
    now: datetime,
    *,
    attached: bool,
) -> int:
    result = conn.execute(
        reports.insert().values(
            incident_id=incident_id,
            at=now,
            actor=actor[:100],
            source=source if source in SOURCES else "api",
            category=report.category,
            commune_code=report.commune_code,
            device_id=report.device_id,
            counter=report.counter,
            description=report.description,
            message=report.message,
            reporter_name=report.reporter_name,
            reporter_phone=report.reporter_phone,
            attached=attached,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _note(category: Category, report: ReportIn) -> str:
    """The history line of a report that joined a ticket (its owner is told)."""
    where = f", quầy/counter {report.counter}" if report.counter else ""
    where += f", {report.device_id}" if report.device_id else ""
    message = f" — lỗi/error: {report.message}" if report.message else ""
    return (
        f"{category.name_vi} / {category.name_en}{where}: {report.description}{message} — "
        f"{report.reporter_name}, {report.reporter_phone}"
    )


def commune_devices(engine: Engine, commune: str) -> list[tuple[str, str]]:
    """(device id, kind) of the commune's devices a person can point at, by id (the form's list)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(device_state.c.device_id, device_state.c.kind)
            .where(
                device_state.c.commune_code == commune,
                device_state.c.kind.not_in(NOT_REPORTABLE_KINDS),
            )
            .order_by(device_state.c.device_id)
            .limit(MAX_DEVICES_LISTED)
        ).all()
    return [(str(row.device_id), str(row.kind)) for row in rows]


def commune_choices(engine: Engine, only: Collection[str] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the communes a report may name (``only`` those, for commune staff), by
    name."""
    query = select(communes.c.code, communes.c.name).order_by(communes.c.name, communes.c.code)
    if only is not None:
        query = query.where(communes.c.code.in_(sorted(only)))
    with engine.connect() as conn:
        return [(str(code), str(name)) for code, name in conn.execute(query)]
