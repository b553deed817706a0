"""What the site agent polls and pings in a commune's rack: printers, network devices and the rest.

Printers print with the commune's dossiers and their toner falls with the pages; staff change
a cartridge while a trend could not yet call it empty within three days (rules.yaml
``printer.forecast_days``), so only injected faults make supply incidents. Routers carry the
WAN: a cut line takes their WAN port down. Devices without SNMP are pinged.
"""

from __future__ import annotations

import random
from datetime import datetime

from agent.wire import DeviceKind
from sim.faults import FaultType, FaultView
from sim.fleet import SimCommune, SimDevice
from sim.shapes import DeviceDict, EventDict, PrinterShape, Sample, sample, snmp_unreachable
from sim.state import TONER_FLOOR, Ledger

# The printer's own "low" level (the SNMP check's low_supply_percent).
LOW_SUPPLY_PERCENT = 10.0
# A fitted trend may call a cartridge empty three days ahead: staff change it a day earlier.
TONER_DAYS_AHEAD = 4.0
SNMP_KINDS = frozenset(
    {
        DeviceKind.ROUTER,
        DeviceKind.SWITCH,
        DeviceKind.FIREWALL,
        DeviceKind.ACCESS_POINT,
        DeviceKind.PRINTER,
        DeviceKind.MFP,
    }
)


class SiteDevices:
    """The models of the devices a site agent watches."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._printer = PrinterShape()

    def report(
        self,
        device: SimDevice,
        commune: SimCommune,
        at: datetime,
        step: float,
        load: float,
        link_down: bool,
        faults: FaultView,
        rng: random.Random,
    ) -> DeviceDict:
        """One device's report at ``at``: pinged, or polled over SNMP (printer or network)."""
        state = self.ledger.states[device.device_id]
        static = self.ledger.statics[device.device_id]
        own = faults.device_faults(device.device_id)
        off = FaultType.DEVICE_OFF in own
        if static.ping is not None:
            # Pinged, not polled: the ping check's report under the device's own id.
            rtt = 0.0005 + rng.random() * 0.002
            return static.ping.report(
                not off, rtt, facts=self.ledger.facts_due(device.device_id, at)
            )
        samples: list[Sample]
        events: list[EventDict] = []
        if off:
            samples, event = snmp_unreachable(static.address)
            events.append(event)
            state.booted_at = None
        elif device.kind in (DeviceKind.PRINTER, DeviceKind.MFP):
            samples = self._printer_samples(device, commune, at, step, load, own, events, rng)
        else:
            samples = self._network(device, at, step, load, link_down, events, rng)
        return {
            "device_id": device.device_id,
            "kind": device.kind.value,
            "samples": samples,
            "events": events,
            "facts": self.ledger.facts(device.device_id, at),
        }

    def _printer_samples(
        self,
        device: SimDevice,
        commune: SimCommune,
        at: datetime,
        step: float,
        load: float,
        own: frozenset[FaultType],
        events: list[EventDict],
        rng: random.Random,
    ) -> list[Sample]:
        state = self.ledger.states[device.device_id]
        jammed = FaultType.PRINTER_JAM in own
        door = FaultType.PRINTER_DOOR_OPEN in own
        empty = FaultType.TONER_EMPTY in own
        if not (jammed or door or empty):
            # About 3 pages per dossier (slip, receipt, result) spread over ~5 working hours.
            pages = (
                commune.dossiers_per_day * 3.0 / 4.0 * load * step / 18_000 * rng.uniform(0.5, 1.5)
            )
            state.pages += pages
            state.toner -= pages / 30.0  # A 3,000-page cartridge.
            if state.toner < state.toner_replace_at:
                state.toner = 100.0
        active = {name for name, is_set in (("jammed", jammed), ("door_open", door)) if is_set}
        if empty:
            active.add("no_toner")
        supply, supply_events = self._printer.supply(
            0.0 if empty else state.toner, LOW_SUPPLY_PERCENT
        )
        errors, error_events = self._printer.errors(frozenset(active))
        status = 3.0 if active else 2.0  # hrDeviceStatus: warning(3) or running(2)
        samples: list[Sample] = [
            sample("snmp_up", 1.0, {}),
            sample("uptime_seconds", self.ledger.uptime(state, at), {}),
            sample("printer_status", status, self._printer.printer),
            sample("printer_pages_total", float(int(state.pages)), self._printer.marker),
            *supply,
            *errors,
        ]
        events.extend(error_events)
        events.extend(supply_events)
        return samples

    def _network(
        self,
        device: SimDevice,
        at: datetime,
        step: float,
        load: float,
        link_down: bool,
        events: list[EventDict],
        rng: random.Random,
    ) -> list[Sample]:
        state = self.ledger.states[device.device_id]
        router = device.kind is DeviceKind.ROUTER
        labels = _WAN if router else _UPLINK
        # Routers carry the WAN: when the site's link is cut their WAN port is down.
        wan_down = link_down and router
        if wan_down != state.wan_down:
            events.append(_interface_event(labels, wan_down))
            state.wan_down = wan_down
        bits = 0.0 if wan_down else (2e5 + 4e7 * load) * rng.uniform(0.6, 1.4)
        state.octets_in += bits * step / 8
        state.octets_out += bits * 0.3 * step / 8
        return [
            sample("snmp_up", 1.0, {}),
            sample("uptime_seconds", self.ledger.uptime(state, at), {}),
            sample("if_oper_up", 0.0 if wan_down else 1.0, labels),
            sample("if_in_octets_total", float(int(state.octets_in)), labels),
            sample("if_out_octets_total", float(int(state.octets_out)), labels),
            sample("if_in_bits_per_second", round(bits), labels),
            sample("if_out_bits_per_second", round(bits * 0.3), labels),
        ]


_WAN = {"if_index": "1", "interface": "wan"}
_UPLINK = {"if_index": "1", "interface": "uplink"}


def _interface_event(labels: dict[str, str], down: bool) -> EventDict:
    """The SNMP check's interface_down / interface_up event (agent/checks/snmp/interfaces.py)."""
    attrs = {**labels, "alias": ""}
    if down:
        return {
            "type": "interface_down",
            "severity": "warning",
            "message": f"interface {labels['interface']} went down",
            "attrs": {**attrs, "oper_status": "2"},
        }
    return {
        "type": "interface_up",
        "severity": "info",
        "message": f"interface {labels['interface']} is up again",
        "attrs": attrs,
    }


def toner_replace_level(commune: SimCommune) -> float:
    """The level at which staff change a cartridge of this commune (percent)."""
    # Percent a working day: ~3 pages per dossier over the commune's printers, 30 pages a %.
    daily = commune.dossiers_per_day * 3.0 / 4.0 * 1.5 / 30.0
    return max(TONER_FLOOR, LOW_SUPPLY_PERCENT + TONER_DAYS_AHEAD * daily)
