"""What happens in the week, and the tickets it must give (the ground truth).

The week is Monday 28 December 2026 to Sunday 3 January 2027 in Vietnam time: four working
days, New Year's Day (Friday 1 January, a public holiday) and a weekend. Counter PCs follow the
opening hours (sim.presence: switched on and off with ±20 minutes of jitter, most shut down
cleanly, some cut at the wall, a few left on overnight). Over it run the operational events of
issue 19 and every fault of the fault-injection test, each at a fixed local time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.vntime import VN_TZ

WEEK_START = datetime(2026, 12, 28, tzinfo=VN_TZ)  # Monday 00:00
WEEK = timedelta(days=7)
# Every agent reports every two minutes: the heartbeat, and the step of the simulation.
HEARTBEAT = timedelta(minutes=2)
TICK = HEARTBEAT


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` of December 2026 (32 = 1 January 2027 ...) at ``hour:minute`` in Vietnam time."""
    return WEEK_START + timedelta(days=day - 28, hours=hour, minutes=minute)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the week, [start, end)."""

    start: datetime
    end: datetime

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Truth:
    """One ticket the week must give, and only it."""

    name: str
    problem_class: str
    owner: str
    commune: int | None  # index into the week's communes
    device: str | None  # "pc:1", "printer:0" (of the commune), or None
    system: str | None
    start: datetime
    end: datetime | None  # None: still going at the end of the week


@dataclass(frozen=True, slots=True)
class WeekPlan:
    """Every event of the week by kind, as spans; see the module docstring."""

    # Communes whose line is down (index -> spans), and the flapping line's short drops.
    link_down: dict[int, tuple[Span, ...]]
    uplink_down: Span
    collector_stopped: Span
    processor_paused: Span
    # Central systems' states seen by every PC's probe: (system target, state, span).
    software: tuple[tuple[str, str, Span], ...]
    slow_commune: tuple[int, Span]
    # PCs (commune, index) off against the presence plan: crashed (no goodbye) or not started.
    pc_crash: tuple[int, int, Span]
    pc_not_started: tuple[int, int, Span]
    printer_jam: tuple[int, int, Span]
    toner_empty: tuple[int, int, Span]
    disk_full: tuple[int, int, Span]
    declared: Span  # the maintenance window declared for the one-stop system
    saturday_communes: tuple[int, ...]  # open on Saturday mornings (the commune's calendar)
    truth: tuple[Truth, ...] = field(default=())


def flapping(start: datetime, hours: float, period: timedelta, down: timedelta) -> tuple[Span, ...]:
    """A line that drops for ``down`` every ``period`` for ``hours``."""
    spans = []
    at = start
    while at < start + timedelta(hours=hours):
        spans.append(Span(at, at + down))
        at += period
    return tuple(spans)


def week_plan() -> WeekPlan:
    """The week of issue 19's measure."""
    cut = Span(local(28, 13, 30), local(28, 15, 30))  # Monday afternoon: 2 hours
    fibre = Span(local(28, 9), local(28, 9, 40))  # Monday morning: 40 minutes
    flaps = flapping(local(30, 9), 1, timedelta(minutes=6), timedelta(minutes=1))
    uplink = Span(local(30, 14), local(30, 14, 20))  # Wednesday afternoon, everyone
    maintenance_page = Span(local(29, 9), local(29, 9, 30))  # Tuesday, undeclared
    motcua_down = Span(local(31, 10), local(31, 10, 10))  # Thursday
    portal_down = Span(local(31, 10, 2), local(31, 10, 8))
    declared = Span(local(33, 21), local(34, 1))  # Saturday night, declared
    declared_failure = Span(local(33, 21, 10), local(34, 0, 40))
    slow = Span(local(29, 14), local(29, 14, 16))
    crash = Span(local(28, 10), local(28, 10, 20))
    not_started = Span(local(29, 6), local(29, 10))  # Tuesday: on only at 10:00
    jam = Span(local(28, 10), local(28, 10, 10))
    toner = Span(local(28, 10), local(28, 10, 30))
    disk = Span(local(31, 16), local(35, 0))  # Thursday 16:00, still full on Monday
    truth = (
        Truth("2h-cut", "site_outage", "isp", 1, None, None, cut.start, cut.end),
        Truth("fibre", "site_outage", "isp", 3, None, None, fibre.start, fibre.end),
        Truth(
            "flapping", "site_link_degraded", "isp", 2, None, None, flaps[0].start, flaps[-1].end
        ),
        Truth("uplink", "upstream_outage", "mang-tinh", None, None, None, uplink.start, uplink.end),
        Truth(
            "maintenance-page",
            "software_outage",
            "motcua-vendor",
            None,
            None,
            "motcua",
            maintenance_page.start,
            maintenance_page.end,
        ),
        Truth(
            "motcua-down",
            "software_outage",
            "motcua-vendor",
            None,
            None,
            "motcua",
            motcua_down.start,
            motcua_down.end,
        ),
        Truth(
            "portal-down",
            "software_outage",
            "dvcqg-operator",
            None,
            None,
            "dvcqg",
            portal_down.start,
            portal_down.end,
        ),
        Truth("slow", "software_slow_site", "commune-it", 5, None, None, slow.start, slow.end),
        Truth("crash", "device_down", "commune-it", 6, "pc:1", None, crash.start, crash.end),
        # Due at opening + the grace (07:30); up at 10:00.
        Truth(
            "not-started",
            "device_down",
            "commune-it",
            10,
            "pc:3",
            None,
            local(29, 7, 30),
            not_started.end,
        ),
        Truth("jam", "printer_fault", "printer-vendor", 7, "printer:0", None, jam.start, jam.end),
        Truth(
            "toner",
            "printer_supply_low",
            "printer-vendor",
            8,
            "printer:0",
            None,
            toner.start,
            toner.end,
        ),
        Truth("disk", "device_health", "commune-it", 9, "pc:2", None, disk.start, None),
    )
    return WeekPlan(
        link_down={1: (cut,), 3: (fibre,), 2: flaps},
        uplink_down=uplink,
        collector_stopped=Span(local(30, 10, 30), local(30, 10, 35)),
        processor_paused=Span(local(31, 9), local(31, 9, 3)),
        software=(
            ("motcua", "maintenance", maintenance_page),
            ("motcua", "fail", motcua_down),
            ("dichvucong", "fail", portal_down),
            ("motcua", "fail", declared_failure),
        ),
        slow_commune=(5, slow),
        pc_crash=(6, 1, crash),
        pc_not_started=(10, 3, not_started),
        printer_jam=(7, 0, jam),
        toner_empty=(8, 0, toner),
        disk_full=(9, 2, disk),
        declared=declared,
        saturday_communes=(20, 21, 22, 23),
        truth=truth,
    )
