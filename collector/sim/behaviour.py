"""What each simulated device measures at a simulated instant, as plain report dicts.

Models (DOMAIN.md §5; the numbers are assumptions to tune, not sourced figures):

- load follows the centre's sessions in Asia/Ho_Chi_Minh: peaks 08:00–10:30 and 14:00–16:00 on
  working days, shoulders around them, near idle at night and at weekends;
- counter PCs: CPU with load (old machines throttle hotter); 4 GB machines run out of memory at
  peaks and swap; the system disk fills a little every working hour until someone cleans it;
- probes of the provincial procedure system and the national portal: a provincial baseline, the
  site's round trip, a province-wide peak penalty, log-normal noise, slower on swapping PCs;
- printers: pages printed with the commune's dossiers, toner falling with pages and replaced
  before it reaches the 10 % "low" level (so only injected faults make supply incidents);
- routers, switches and the rest: SNMP or ping reachability, traffic with load.

Sample names and labels are those of ``agent/checks/metrics.yaml`` and
``agent/snmp/metrics.yaml``. Reports are built as dicts, not pydantic models: the driver validates
each report once (or, in back-fill, lets the collector do it), which keeps the hot loop cheap.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.wire import DeviceKind
from collector.sim.fleet import Fleet, SimAgent, SimCommune, SimDevice
from collector.sim.scenario import Fault, FaultType

# Vietnam has kept UTC+7 without daylight saving since 1975: a fixed offset is exact and much
# cheaper than a zoneinfo lookup per tick.
VN_OFFSET = timedelta(hours=7)
GIB = 1024**3
PROBE_TIMEOUT_SECONDS = 10.0
# The provincial procedure system (via the specialised network) and the national portal.
PROBE_TARGETS = (("motcua", "motcua.{province}.gov.vn", 0.35), ("dvcqg", "dichvucong.gov.vn", 0.55))
TONER_REPLACED_AT = 15.0

Sample = dict[str, object]
DeviceDict = dict[str, object]


def load_factor(at: datetime) -> float:
    """How busy a centre is at ``at`` (UTC), 0..1, from the sessions in Asia/Ho_Chi_Minh."""
    local = at + VN_OFFSET
    if local.weekday() >= 5:
        return 0.03
    minute = local.hour * 60 + local.minute
    if 480 <= minute < 630 or 840 <= minute < 960:  # 08:00–10:30, 14:00–16:00
        return 1.0
    if 450 <= minute < 690 or 810 <= minute < 1020:  # 07:30–11:30, 13:30–17:00
        return 0.45
    return 0.05


@dataclass(frozen=True, slots=True)
class FaultView:
    """The faults active at one instant, indexed for the per-device loop."""

    link_down: frozenset[str] = frozenset()
    # (commune code or None for the whole province, probe target or None for every one)
    # -> "outage" or "slow".
    software: dict[tuple[str | None, str | None], str] = field(default_factory=dict)
    devices: dict[str, frozenset[FaultType]] = field(default_factory=dict)

    @classmethod
    def at(cls, faults: tuple[Fault, ...] | list[Fault], when: datetime) -> FaultView:
        """Index the faults of a resolved scenario that hold at ``when``."""
        link: set[str] = set()
        software: dict[tuple[str | None, str | None], str] = {}
        devices: dict[str, set[FaultType]] = {}
        for fault in faults:
            if not fault.active(when):
                continue
            if fault.type in (FaultType.LINK_DOWN, FaultType.LINK_FLAPPING):
                assert fault.commune_code is not None
                link.add(fault.commune_code)
            elif fault.type is FaultType.SOFTWARE_OUTAGE:
                software[(fault.commune_code, fault.system)] = "outage"
            elif fault.type is FaultType.SOFTWARE_SLOW:
                software.setdefault((fault.commune_code, fault.system), "slow")
            elif fault.device_id is not None:
                devices.setdefault(fault.device_id, set()).add(fault.type)
        return cls(
            frozenset(link), software, {key: frozenset(value) for key, value in devices.items()}
        )

    def software_state(self, commune_code: str, system: str | None = None) -> str | None:
        """ "outage", "slow" or None for central system ``system`` (a probe target) as seen
        from this commune; the commune's own fault first, then the province's."""
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


@dataclass(slots=True)
class _State:
    """Mutable state of one device between reports."""

    disk_used: float = 0.5
    toner: float = 100.0
    pages: float = 0.0
    reallocated: float = 0.0
    octets_in: float = 0.0
    octets_out: float = 0.0
    booted_at: datetime | None = None
    facts_sent: bool = False


def _s(name: str, value: float, labels: dict[str, str]) -> Sample:
    return {"name": name, "value": value, "labels": labels}


@dataclass(frozen=True, slots=True)
class _Static:
    """Pre-computed, reused label sets and facts of one device."""

    facts: dict[str, str]
    address: str
    ping: dict[str, str]
    ping_avg: dict[str, str]
    busy: float  # the commune's share of peak workload for this device


class Behaviour:
    """Measurement models of every device of a fleet; one instance per simulation run."""

    def __init__(self, fleet: Fleet, seed: int, start: datetime) -> None:
        self._fleet = fleet
        self._states: dict[str, _State] = {}
        self._static: dict[str, _Static] = {}
        self._rngs: dict[str, random.Random] = {}
        self._communes: dict[str, SimCommune] = {c.code: c for c in fleet.communes}
        province = fleet.province_code
        self._probe_labels = [
            (
                {"target": name, "host": host.format(province=province)},
                {"target": name, "host": host.format(province=province), "phase": "total"},
                {"target": name, "host": host.format(province=province), "phase": "ttfb"},
                base,
            )
            for name, host, base in PROBE_TARGETS
        ]
        self._disk_labels = {"volume": "C:"}
        self._smart_labels = {"disk": "0"}
        self._if_labels = {"if_index": "1", "interface": "wan"}
        self._printer_labels = {"printer": "1"}
        self._marker_labels = {"marker": "1"}
        self._supply_labels = {
            "supply": "1",
            "description": "Black Toner Cartridge",
            "type": "toner",
            "colour": "black",
        }
        self._supply_state_labels = {
            state: {**self._supply_labels, "state": state} for state in ("ok", "low", "empty")
        }
        self._condition_labels = {
            cond: {"printer": "1", "condition": cond}
            for cond in ("jammed", "door_open", "low_toner", "no_toner")
        }
        for commune_number, commune in enumerate(fleet.communes):
            busy = commune.dossiers_per_day / 150.0
            for agent in commune.agents:
                self._rngs[agent.key] = random.Random(f"{seed}:{agent.key}")  # noqa: S311
                for host_number, device in enumerate(agent.devices):
                    rng = self._rngs[agent.key]
                    self._states[device.device_id] = _initial_state(device, rng, start)
                    address = (
                        f"10.{commune_number // 250}.{commune_number % 250}.{host_number + 10}"
                    )
                    ping = {"target": device.device_id, "address": address, "method": "icmp"}
                    self._static[device.device_id] = _Static(
                        facts={
                            "serial": device.serial,
                            "brand": device.brand,
                            "model": device.model,
                            "hostname": device.device_id.lower(),
                        },
                        address=address,
                        ping=ping,
                        ping_avg={**ping, "stat": "avg"},
                        busy=busy,
                    )

    def agent_report(
        self, agent: SimAgent, at: datetime, step_seconds: float, faults: FaultView
    ) -> list[DeviceDict] | None:
        """The devices part of ``agent``'s report at ``at``; None when the agent is off."""
        load = load_factor(at)
        commune = self._communes[agent.commune_code]
        rng = self._rngs[agent.key]
        if agent.role == "pc":
            device = agent.devices[0]
            if FaultType.DEVICE_OFF in faults.device_faults(device.device_id):
                return None  # A switched-off PC runs no agent: silence is the symptom.
            return [self._pc(device, commune, at, step_seconds, load, faults, rng)]
        link_down = agent.commune_code in faults.link_down
        return [
            self._site_device(device, commune, at, step_seconds, load, link_down, faults, rng)
            for device in agent.devices
        ]

    def _facts(self, device: SimDevice, state: _State, at: datetime) -> dict[str, str]:
        # Facts go out with the first report and then hourly, as the real agent refreshes them.
        if not state.facts_sent or (at.minute == 0 and at.second < 60):
            state.facts_sent = True
            return self._static[device.device_id].facts
        return {}

    def _pc(
        self,
        device: SimDevice,
        commune: SimCommune,
        at: datetime,
        step: float,
        load: float,
        faults: FaultView,
        rng: random.Random,
    ) -> DeviceDict:
        state = self._states[device.device_id]
        static = self._static[device.device_id]
        own = faults.device_faults(device.device_id)
        work = load * (0.5 + static.busy)
        old = device.age_years > 8
        cpu = min(100.0, 3.0 + 45.0 * work + (12.0 * work if old else 0.0) + rng.random() * 8.0)
        total = device.memory_gb * GIB
        small = device.memory_gb <= 4
        memory = min(98.0, (58.0 + 38.0 * work if small else 30.0 + 30.0 * work) + rng.random() * 4)
        swap = min(95.0, (10.0 + 70.0 * work) if small else 2.0 + rng.random())
        # About 0.5 GB a working day of documents and browser cache; a technician cleans at 93 %.
        state.disk_used += load * step / 86_400 * 0.5 * 3 / max(1, device.disk_gb)
        if state.disk_used > 0.93:
            state.disk_used = 0.55 + rng.random() * 0.1
        disk_used = 0.995 if FaultType.DISK_FULL in own else state.disk_used
        disk_total = device.disk_gb * 1e9
        healthy = 1.0
        if FaultType.SMART_FAILURE in own:
            state.reallocated += step / 60.0 * (1 + rng.random() * 4)
            healthy = 0.0
        if state.booted_at is None or state.booted_at > at:
            state.booted_at = at - timedelta(hours=1)
        samples: list[Sample] = [
            _s("cpu_percent", round(cpu, 1), {}),
            _s("memory_total_bytes", float(total), {}),
            _s("memory_used_percent", round(memory, 1), {}),
            _s("swap_used_percent", round(swap, 1), {}),
            _s("disk_total_bytes", disk_total, self._disk_labels),
            _s("disk_used_percent", round(disk_used * 100, 2), self._disk_labels),
            _s("disk_free_bytes", round(disk_total * (1 - disk_used)), self._disk_labels),
            _s("smart_healthy", healthy, self._smart_labels),
            _s("smart_reallocated_sectors", float(int(state.reallocated)), self._smart_labels),
            _s("uptime_seconds", round((at - state.booted_at).total_seconds()), {}),
        ]
        samples.extend(self._probes(commune, work, small, faults, rng))
        return {
            "device_id": device.device_id,
            "kind": "pc",
            "samples": samples,
            "events": [],
            "facts": self._facts(device, state, at),
        }

    def _probes(
        self,
        commune: SimCommune,
        work: float,
        small: bool,
        faults: FaultView,
        rng: random.Random,
    ) -> list[Sample]:
        link_down = commune.code in faults.link_down
        out: list[Sample] = []
        for labels, total_labels, ttfb_labels, base in self._probe_labels:
            software = faults.software_state(commune.code, labels["target"])
            if link_down or software == "outage":
                # A cut link times out; a central outage answers 503 quickly.
                duration = PROBE_TIMEOUT_SECONDS if link_down else 0.2 + rng.random() * 0.2
                status = 0.0 if link_down else 503.0
                success = 0.0
            else:
                rtt = commune.rtt_ms / 1000.0
                duration = (base + 4 * rtt + 0.6 * work) * math.exp(rng.gauss(0.0, 0.25))
                if small and work > 0.5:
                    duration *= 1.4  # The probe shares a swapping machine with the browser.
                if software == "slow":
                    duration *= 8.0 + rng.random() * 4
                duration = min(duration, PROBE_TIMEOUT_SECONDS)
                status, success = 200.0, 1.0
            out.append(_s("probe_success", success, labels))
            out.append(_s("probe_http_status", status, labels))
            out.append(_s("probe_duration_seconds", round(duration, 3), total_labels))
            out.append(_s("probe_duration_seconds", round(duration * 0.7, 3), ttfb_labels))
        return out

    def _site_device(
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
        state = self._states[device.device_id]
        static = self._static[device.device_id]
        own = faults.device_faults(device.device_id)
        kind = device.kind
        samples: list[Sample]
        events: list[dict[str, object]] = []
        if FaultType.DEVICE_OFF in own:
            samples = [_s("ping_up", 0.0, static.ping), _s("ping_loss_ratio", 1.0, static.ping)]
            if kind in _SNMP_KINDS:
                samples.append(_s("snmp_up", 0.0, {}))
                events.append(
                    {
                        "type": "snmp_target_unreachable",
                        "severity": "critical",
                        "message": f"{static.address} did not answer SNMP",
                        "attrs": {
                            "error": "timeout",
                            "address": static.address,
                            "problem_class": "device_down",
                        },
                    }
                )
            state.booted_at = None
        elif kind in (DeviceKind.PRINTER, DeviceKind.MFP):
            samples = self._printer(device, commune, at, step, load, own, events, rng)
        elif kind in _SNMP_KINDS:
            samples = self._network(device, at, step, load, link_down, rng)
        else:
            rtt = 0.0005 + rng.random() * 0.002
            samples = [
                _s("ping_up", 1.0, static.ping),
                _s("ping_rtt_seconds", round(rtt, 5), static.ping_avg),
                _s("ping_loss_ratio", 0.0, static.ping),
            ]
        return {
            "device_id": device.device_id,
            "kind": kind.value,
            "samples": samples,
            "events": events,
            "facts": self._facts(device, state, at),
        }

    def _uptime(self, state: _State, at: datetime) -> float:
        if state.booted_at is None or state.booted_at > at:
            state.booted_at = at
        return round((at - state.booted_at).total_seconds())

    def _printer(
        self,
        device: SimDevice,
        commune: SimCommune,
        at: datetime,
        step: float,
        load: float,
        own: frozenset[FaultType],
        events: list[dict[str, object]],
        rng: random.Random,
    ) -> list[Sample]:
        state = self._states[device.device_id]
        # About 3 pages per dossier (slip, receipt, result) spread over ~5 working hours.
        jammed = FaultType.PRINTER_JAM in own
        door = FaultType.PRINTER_DOOR_OPEN in own
        empty = FaultType.TONER_EMPTY in own
        if not (jammed or door or empty):
            pages = (
                commune.dossiers_per_day * 3.0 / 4.0 * load * step / 18_000 * rng.uniform(0.5, 1.5)
            )
            state.pages += pages
            # A 3,000-page cartridge; staff swap it before the printer calls it low.
            state.toner -= pages / 30.0
            if state.toner < TONER_REPLACED_AT:
                state.toner = 100.0
        toner = 0.0 if empty else state.toner
        supply_state = "empty" if empty else "ok"
        conditions = {"jammed": jammed, "door_open": door, "low_toner": False, "no_toner": empty}
        samples: list[Sample] = [
            _s("snmp_up", 1.0, {}),
            _s("uptime_seconds", self._uptime(state, at), {}),
            _s("printer_status", 3.0 if any(conditions.values()) else 2.0, self._printer_labels),
            _s("printer_pages_total", float(int(state.pages)), self._marker_labels),
            _s("printer_supply_level_percent", round(toner, 1), self._supply_labels),
            _s("printer_supply_state", 1.0, self._supply_state_labels[supply_state]),
        ]
        for condition, is_set in conditions.items():
            samples.append(
                _s("printer_error", 1.0 if is_set else 0.0, self._condition_labels[condition])
            )
            if is_set:
                problem = "printer_supply_low" if condition == "no_toner" else "printer_fault"
                events.append(
                    {
                        "type": "printer_error",
                        "severity": "critical",
                        "message": f"printer 1 reports {condition.replace('_', ' ')}",
                        "attrs": {"printer": "1", "condition": condition, "problem_class": problem},
                    }
                )
        if empty:
            events.append(
                {
                    "type": "printer_supply_low",
                    "severity": "critical",
                    "message": "Black Toner Cartridge is empty",
                    "attrs": {
                        **self._supply_labels,
                        "state": "empty",
                        "percent": "0",
                        "problem_class": "printer_supply_low",
                    },
                }
            )
        return samples

    def _network(
        self,
        device: SimDevice,
        at: datetime,
        step: float,
        load: float,
        link_down: bool,
        rng: random.Random,
    ) -> list[Sample]:
        state = self._states[device.device_id]
        static = self._static[device.device_id]
        # Routers carry the WAN: when the site's link is cut their WAN port is down.
        wan_down = link_down and device.kind is DeviceKind.ROUTER
        bits = 0.0 if wan_down else (2e5 + 4e7 * load) * rng.uniform(0.6, 1.4)
        state.octets_in += bits * step / 8
        state.octets_out += bits * 0.3 * step / 8
        samples: list[Sample] = [
            _s("snmp_up", 1.0, {}),
            _s("uptime_seconds", self._uptime(state, at), {}),
            _s("if_oper_up", 0.0 if wan_down else 1.0, self._if_labels),
            _s("if_in_octets_total", float(int(state.octets_in)), self._if_labels),
            _s("if_out_octets_total", float(int(state.octets_out)), self._if_labels),
            _s("if_in_bits_per_second", round(bits), self._if_labels),
            _s("if_out_bits_per_second", round(bits * 0.3), self._if_labels),
        ]
        if device.kind is DeviceKind.ROUTER:
            samples.append(_s("ping_up", 0.0 if wan_down else 1.0, static.ping))
            samples.append(_s("ping_loss_ratio", 1.0 if wan_down else 0.0, static.ping))
            if not wan_down:
                rtt = self._communes[device.commune_code].rtt_ms / 1000 * rng.uniform(0.8, 1.5)
                samples.append(_s("ping_rtt_seconds", round(rtt, 4), static.ping_avg))
        return samples


_SNMP_KINDS = frozenset(
    {
        DeviceKind.ROUTER,
        DeviceKind.SWITCH,
        DeviceKind.FIREWALL,
        DeviceKind.ACCESS_POINT,
        DeviceKind.PRINTER,
        DeviceKind.MFP,
    }
)


def _initial_state(device: SimDevice, rng: random.Random, start: datetime) -> _State:
    state = _State()
    if device.kind is DeviceKind.PC:
        state.disk_used = min(0.9, 0.35 + device.age_years * 0.04 + rng.random() * 0.15)
        if device.age_years > 8:
            state.reallocated = float(rng.randint(0, 12))
    elif device.kind in (DeviceKind.PRINTER, DeviceKind.MFP):
        state.toner = TONER_REPLACED_AT + rng.random() * (100.0 - TONER_REPLACED_AT)
        state.pages = device.age_years * 6_000 * rng.uniform(0.5, 1.5)
    state.booted_at = start - timedelta(days=rng.uniform(0.5, 20))
    return state
