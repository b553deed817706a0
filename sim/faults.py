"""What can go wrong in the simulated province, pinned to times and ids, and what holds at an
instant (the index the behaviour loop reads).

Fault types follow DOMAIN.md §5's failure patterns plus the ordinary life of a province that
issue 19 is about: a central system showing its maintenance page (declared or not), the
collector's own uplink failing, a counter PC nobody switched on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from agent.wire import DeviceKind


class FaultType(StrEnum):
    """What can go wrong (DOMAIN.md §5 failure patterns, issue 19's ordinary days)."""

    LINK_DOWN = "link_down"
    LINK_FLAPPING = "link_flapping"
    SOFTWARE_OUTAGE = "software_outage"
    SOFTWARE_SLOW = "software_slow"
    # A central system shows its maintenance page (HTTP 503 announcing maintenance) to every
    # commune; ``declared_maintenance`` is the same page inside a window the scenario declares.
    MAINTENANCE_PAGE = "maintenance_page"
    DECLARED_MAINTENANCE = "declared_maintenance"
    # The province's collector is unreachable from every commune (its uplink or the backbone).
    COLLECTOR_UPLINK_DOWN = "collector_uplink_down"
    DEVICE_OFF = "device_off"
    # A counter PC not switched on one working morning (switched on at the fault's end).
    PC_NOT_STARTED = "pc_not_started"
    PRINTER_JAM = "printer_jam"
    PRINTER_DOOR_OPEN = "printer_door_open"
    TONER_EMPTY = "toner_empty"
    DISK_FULL = "disk_full"
    SMART_FAILURE = "smart_failure"
    # The signing chain at the counter (issue 23): the certificate on a clerk's token comes
    # within the rule's 30 days of expiry until it is renewed; a browser update breaks the
    # VNPT-CA Plugin (it answers checkPlugin "-1"); the clerk's token is not there.
    CERT_EXPIRING = "cert_expiring"
    PLUGIN_BROKEN = "plugin_broken"
    TOKEN_MISSING = "token_missing"  # noqa: S105 - a fault type, not a secret


# Faults aimed at one device, and the device kinds each accepts (None: any kind).
_PRINTERS = frozenset({DeviceKind.PRINTER, DeviceKind.MFP})
DEVICE_FAULT_KINDS: dict[FaultType, frozenset[DeviceKind] | None] = {
    FaultType.DEVICE_OFF: None,
    FaultType.PC_NOT_STARTED: frozenset({DeviceKind.PC}),
    FaultType.PRINTER_JAM: _PRINTERS,
    FaultType.PRINTER_DOOR_OPEN: _PRINTERS,
    FaultType.TONER_EMPTY: _PRINTERS,
    FaultType.DISK_FULL: frozenset({DeviceKind.PC}),
    FaultType.SMART_FAILURE: frozenset({DeviceKind.PC}),
    FaultType.CERT_EXPIRING: frozenset({DeviceKind.PC}),
    FaultType.PLUGIN_BROKEN: frozenset({DeviceKind.PC}),
    FaultType.TOKEN_MISSING: frozenset({DeviceKind.PC}),
}
# Faults of a PC's signing chain and what the PC needs for each (sim.workstation): a clerk's
# token, or the VNPT-CA Plugin (the bridge a browser update breaks). A scenario's ``index``
# counts only the commune's PCs that have it.
SIGNING_NEEDS: dict[FaultType, str] = {
    FaultType.CERT_EXPIRING: "token",
    FaultType.TOKEN_MISSING: "token",
    FaultType.PLUGIN_BROKEN: "vnpt_ca",
}
# Faults of the central systems (a probe target fails, as the communes' PCs see it).
SOFTWARE_FAULTS = frozenset(
    {
        FaultType.SOFTWARE_OUTAGE,
        FaultType.SOFTWARE_SLOW,
        FaultType.MAINTENANCE_PAGE,
        FaultType.DECLARED_MAINTENANCE,
    }
)
# Faults that must name the one central system they strike.
SYSTEM_REQUIRED = frozenset({FaultType.MAINTENANCE_PAGE, FaultType.DECLARED_MAINTENANCE})
# Faults of the whole province (no commune, no device).
PROVINCE_FAULTS = frozenset({FaultType.COLLECTOR_UPLINK_DOWN})
# What a probe of a failing system gets, strongest first when several faults overlap.
_SOFTWARE_STATE = {
    FaultType.SOFTWARE_OUTAGE: "outage",
    FaultType.MAINTENANCE_PAGE: "maintenance",
    FaultType.DECLARED_MAINTENANCE: "maintenance",
    FaultType.SOFTWARE_SLOW: "slow",
}
_STRENGTH = {"outage": 3, "maintenance": 2, "slow": 1}
# Faults that keep a PC switched off.
PC_OFF = frozenset({FaultType.DEVICE_OFF, FaultType.PC_NOT_STARTED})


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault pinned to times and ids."""

    id: str
    type: FaultType
    start: datetime
    end: datetime
    commune_code: str | None  # None: the whole province
    device_id: str | None
    period: timedelta
    system: str | None = None  # software faults: the one probe target that fails (None: all)

    def active(self, at: datetime) -> bool:
        """Whether the fault holds at ``at`` (a flapping link is down every other period)."""
        if not self.start <= at < self.end:
            return False
        if self.type is FaultType.LINK_FLAPPING:
            phase = int((at - self.start) / self.period)
            return phase % 2 == 0
        return True


@dataclass(frozen=True, slots=True)
class FaultView:
    """The faults active at one instant, indexed for the per-device loop."""

    link_down: frozenset[str] = frozenset()
    # (commune code or None for the whole province, probe target or None for every one)
    # -> "outage", "maintenance" or "slow".
    software: dict[tuple[str | None, str | None], str] = field(default_factory=dict)
    devices: dict[str, frozenset[FaultType]] = field(default_factory=dict)
    # The collector's uplink is down: no agent of any commune can send.
    uplink_down: bool = False

    @classmethod
    def at(cls, faults: Iterable[Fault], when: datetime) -> FaultView:
        """Index the faults of a resolved scenario that hold at ``when``."""
        link: set[str] = set()
        software: dict[tuple[str | None, str | None], str] = {}
        devices: dict[str, set[FaultType]] = {}
        uplink = False
        for fault in faults:
            if not fault.active(when):
                continue
            if fault.type in (FaultType.LINK_DOWN, FaultType.LINK_FLAPPING):
                assert fault.commune_code is not None
                link.add(fault.commune_code)
            elif fault.type in _SOFTWARE_STATE:
                key = (fault.commune_code, fault.system)
                state = _SOFTWARE_STATE[fault.type]
                if _STRENGTH[state] > _STRENGTH.get(software.get(key, ""), 0):
                    software[key] = state
            elif fault.type is FaultType.COLLECTOR_UPLINK_DOWN:
                uplink = True
            elif fault.device_id is not None:
                devices.setdefault(fault.device_id, set()).add(fault.type)
        return cls(
            frozenset(link),
            software,
            {key: frozenset(value) for key, value in devices.items()},
            uplink,
        )

    def software_state(self, commune_code: str, system: str | None = None) -> str | None:
        """ "outage", "maintenance", "slow" or None for central system ``system`` (a probe
        target) as seen from this commune; the commune's own fault first, then the province's."""
        if not self.software:
            return None
        get = self.software.get
        return (
            get((commune_code, system))
            or get((commune_code, None))
            or get((None, system))
            or get((None, None))
        )

    def device_faults(self, device_id: str) -> frozenset[FaultType]:
        """Faults of one device now."""
        return self.devices.get(device_id, frozenset())
