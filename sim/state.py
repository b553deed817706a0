"""The simulator's memory of each device between reports, and what is computed once per device."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sim.shapes import PingShape, ProbeShape

# Staff change a toner cartridge before it reaches this, at the latest (see sim.site).
TONER_FLOOR = 15.0


@dataclass(slots=True)
class DeviceState:
    """Mutable state of one device between reports."""

    disk_used: float = 0.5
    toner: float = 100.0
    toner_replace_at: float = TONER_FLOOR
    pages: float = 0.0
    reallocated: float = 0.0
    octets_in: float = 0.0
    octets_out: float = 0.0
    booted_at: datetime | None = None
    wan_down: bool = False
    # Counter PCs: whether the PC was on at its last report (None: not asked yet), when it was
    # last asked, whether its last report said goodbye, how its last run ended (if seen).
    on: bool | None = None
    seen_at: datetime | None = None
    said_goodbye: bool = False
    previous_stop: str | None = None
    # Counter PCs' signing chain (sim.signing): the last tokens round; the holder's certificate
    # when a fault changed it (serial, expiry), whether it is the expiring one, and how many
    # times it was renewed since.
    tokens_at: datetime | None = None
    cert: tuple[str, datetime] | None = None
    cert_expiring: bool = False
    renewals: int = 0


@dataclass(frozen=True, slots=True)
class DeviceStatic:
    """Pre-computed, reused label sets and facts of one device."""

    facts: dict[str, str]
    address: str
    busy: float  # the commune's share of peak workload for this device
    probes: tuple[ProbeShape, ...] = ()
    ping: PingShape | None = None


class Ledger:
    """Every device's state and static data, and when facts are next due."""

    def __init__(self) -> None:
        self.states: dict[str, DeviceState] = {}
        self.statics: dict[str, DeviceStatic] = {}
        self._facts_sent: set[str] = set()

    def facts_due(self, key: str, at: datetime) -> bool:
        """Whether ``key``'s facts go with this report: the first one, then hourly, as the real
        agent refreshes them."""
        if key not in self._facts_sent or (at.minute == 0 and at.second < 60):
            self._facts_sent.add(key)
            return True
        return False

    def facts(self, device_id: str, at: datetime) -> dict[str, str]:
        """The device's facts when due, else none."""
        return self.statics[device_id].facts if self.facts_due(device_id, at) else {}

    @staticmethod
    def uptime(state: DeviceState, at: datetime) -> float:
        """Seconds since the device booted (a device seen for the first time boots now)."""
        if state.booted_at is None or state.booted_at > at:
            state.booted_at = at
        return round((at - state.booted_at).total_seconds())
