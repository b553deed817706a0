"""The ground truth of a scenario: the incidents its faults should cause, and the maintenance
windows it declares, in the problem-class words of DESIGN.md.

Truth follows what a province should be told, not what a device shows: silence and maintenance
pages are judged against the working calendar (DESIGN.md invariant 6), as the alerting is.

- ``maintenance_page``: one ``software_outage`` of its system for each part of the page that
  falls in the province's opening sessions; outside them no citizen is troubled, no ticket;
- ``declared_maintenance``: the same page inside a window the scenario declares: no ticket;
- ``collector_uplink_down``: one ``upstream_outage`` (the province's network), no
  ``site_outage`` for the communes;
- ``pc_not_started``: one ``device_down`` from the session's opening plus the calendar's grace
  (a PC switched on within the grace is no fault) until the PC is switched on;
- ``device_off`` of a counter PC: ``device_down`` only from when the PC was expected up;
- the signing chain (issue 23), as ``alerts/detectors/signing.py`` judges it; the PC is taken to
  be on at the fault's start (a fault of opening hours): ``plugin_broken`` is one
  ``signing_plugin_down`` over the fault's time, its ticket opening ``plugin_down_for`` later;
  ``cert_expiring`` one ``signing_cert_expiring`` from the first tokens round that reads the
  certificate (:func:`sim.signing.next_round`) to the first that reads its renewal;
  ``token_missing`` one ``token_missing`` from the first round without the token to the first
  with it again, if it stayed away ``token_absent_for`` of opening time in between (its ticket
  opens at the first round of opening hours past that); none otherwise;
- every other fault: one incident of its class over the fault's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.wire import DeviceKind
from alerts.calendar import WorkingCalendar
from alerts.windows import Scope, WindowSpec
from sim.faults import Fault, FaultType
from sim.fleet import Fleet
from sim.signing import TOKEN_ROUND, next_round

# A declared window is wider than the work it covers, as operators announce it.
WINDOW_LEAD = timedelta(minutes=15)
WINDOW_TAIL = timedelta(minutes=10)
# The bundled rules' signing section (alerts/rules.yaml; tests/sim/test_truth.py holds them
# equal): a bridge not ready this long, a token away this long in opening hours.
PLUGIN_DOWN_FOR = timedelta(minutes=5)
TOKEN_ABSENT_FOR = timedelta(hours=1)

_PROBLEM_CLASS: dict[FaultType, str] = {
    FaultType.LINK_DOWN: "site_outage",
    FaultType.LINK_FLAPPING: "site_link_degraded",
    FaultType.COLLECTOR_UPLINK_DOWN: "upstream_outage",
    FaultType.DEVICE_OFF: "device_down",
    FaultType.PC_NOT_STARTED: "device_down",
    FaultType.PRINTER_JAM: "printer_fault",
    FaultType.PRINTER_DOOR_OPEN: "printer_fault",
    FaultType.TONER_EMPTY: "printer_supply_low",
    FaultType.DISK_FULL: "device_health",
    FaultType.SMART_FAILURE: "device_health",
    FaultType.PLUGIN_BROKEN: "signing_plugin_down",
    FaultType.CERT_EXPIRING: "signing_cert_expiring",
    FaultType.TOKEN_MISSING: "token_missing",
}


@dataclass(frozen=True, slots=True)
class ExpectedIncident:
    """One incident the scenario should produce (the ground truth)."""

    problem_class: str
    commune_code: str | None
    device_id: str | None
    start: datetime
    end: datetime
    fault_id: str
    system: str | None = None  # software faults limited to one central system
    # When its ticket should open, if later than its start (a rule's delay); None: at its start.
    raised_at: datetime | None = None


def expected_incidents(
    fault: Fault, fleet: Fleet, calendar: WorkingCalendar
) -> list[ExpectedIncident]:
    """The incidents ``fault`` should cause (none, one, or one per open session it spans)."""

    def incident(
        problem_class: str, start: datetime, end: datetime, raised_at: datetime | None = None
    ) -> ExpectedIncident:
        return ExpectedIncident(
            problem_class=problem_class,
            commune_code=fault.commune_code,
            device_id=fault.device_id,
            start=start,
            end=end,
            fault_id=fault.id,
            system=fault.system,
            raised_at=raised_at,
        )

    kind = fault.type
    if kind in (FaultType.SOFTWARE_OUTAGE, FaultType.SOFTWARE_SLOW):
        # Province-wide trouble of the central system is one vendor incident (invariant 3); at a
        # single commune the same symptoms are that site's problem.
        problem = "software_outage" if fault.commune_code is None else "software_slow_site"
        return [incident(problem, fault.start, fault.end)]
    if kind is FaultType.MAINTENANCE_PAGE:
        return [
            incident("software_outage", lo, hi)
            for lo, hi in calendar.sessions(None, fault.start, fault.end)
        ]
    if kind is FaultType.DECLARED_MAINTENANCE:
        return []
    if kind is FaultType.PC_NOT_STARTED or (
        kind is FaultType.DEVICE_OFF and _is_pc(fleet, fault.device_id)
    ):
        assert fault.commune_code is not None
        due = _expected_from(calendar, fault.commune_code, fault.start, fault.end)
        return [] if due is None else [incident("device_down", due, fault.end)]
    problem = _PROBLEM_CLASS[kind]
    if kind is FaultType.PLUGIN_BROKEN:
        return [incident(problem, fault.start, fault.end, fault.start + PLUGIN_DOWN_FOR)]
    if kind is FaultType.CERT_EXPIRING:
        return [incident(problem, next_round(fault.start), next_round(fault.end))]
    if kind is FaultType.TOKEN_MISSING:
        assert fault.commune_code is not None
        start, end = next_round(fault.start), next_round(fault.end)
        raised = _token_raised(calendar, fault.commune_code, start, end)
        return [] if raised is None else [incident(problem, start, end, raised)]
    return [incident(problem, fault.start, fault.end)]


def _token_raised(
    calendar: WorkingCalendar, commune: str, since: datetime, back: datetime
) -> datetime | None:
    """The first tokens round in [since, back) in opening hours after ``TOKEN_ABSENT_FOR`` of
    opening time without the token; None if the token is back before."""
    at = since
    while at < back:
        if (
            calendar.is_open(commune, at)
            and calendar.working_time(commune, since, at) >= TOKEN_ABSENT_FOR
        ):
            return at
        at += TOKEN_ROUND
    return None


def _is_pc(fleet: Fleet, device_id: str | None) -> bool:
    return any(d.device_id == device_id and d.kind is DeviceKind.PC for d in fleet.devices)


def _expected_from(
    calendar: WorkingCalendar, commune: str, start: datetime, end: datetime
) -> datetime | None:
    """The first instant in [start, end) at which a counter PC of ``commune`` is expected up:
    a session's opening plus the grace, or ``start`` itself inside that part of a session."""
    for opened, closed in calendar.sessions(commune, start, end, clip=False):
        due = max(opened + calendar.grace, start)
        if due < min(closed, end):
            return due
    return None


def declared_window(fault: Fault) -> WindowSpec:
    """The maintenance window a ``declared_maintenance`` fault comes with: its system, a little
    wider than the work (declared ahead, closed a while after)."""
    assert fault.system is not None
    return WindowSpec(
        kind="maintenance",
        reason=f"Bảo trì theo kế hoạch / planned maintenance ({fault.id})",
        starts_at=fault.start - WINDOW_LEAD,
        ends_at=fault.end + WINDOW_TAIL,
        scope=Scope(systems=(fault.system,)),
    )
