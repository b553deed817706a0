"""What each simulated agent reports at a simulated instant, as the real agent would send it.

Models (DOMAIN.md §5; the numbers are assumptions to tune, not sourced figures):

- counter PCs live by the working calendar (:mod:`sim.presence`): switched on around opening,
  off around closing with a goodbye (``agent_stopping``) or cut at the wall, a few left on; a
  start says ``agent_started`` and the uptime begins again. Site agents are always on;
- load follows the centre's sessions in Asia/Ho_Chi_Minh: peaks 08:00–10:30 and 14:00–16:00 on
  working days, shoulders around them, near idle at night and at weekends;
- counter PCs: CPU with load (old machines throttle hotter); 4 GB machines run short of memory at
  peaks and swap; the system disk fills a little every working hour until someone cleans it.
  Their host facts (Windows release, processor, memory) and signing chain (bridges, the clerk's
  token and certificate) are what :mod:`sim.workstation` installed on them, reported as the
  agent's checks do (:mod:`sim.signing`). An ordinary day stays under the bundled rules (memory
  under 97 %, disks cleaned before 90 %, certificates renewed weeks ahead, tokens away only out
  of opening hours): only injected faults make tickets;
- probes of the provincial procedure system and the national portal (https): phases from the
  site's round trip and the server's time, slower on a swapping PC or a slow system; a 503 or
  the maintenance page when the system fails; nothing but a timeout on a cut line;
- printers: pages printed with the commune's dossiers, toner falling with pages and replaced
  while a trend could not yet call it empty within three days (so only injected faults make
  supply incidents);
- routers, switches and the rest: SNMP or ping reachability, traffic with load; the site agent
  pings the line (a ``link`` device).

Sample names, labels and events are those of the agent's checks (:mod:`sim.shapes`). Reports are
built as dicts, not pydantic models: the driver validates each report once (or, in back-fill,
lets the collector do it), which keeps the hot loop cheap.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from agent.vntime import OFFSET as VN_OFFSET
from agent.wire import DeviceKind
from alerts.calendar import WorkingCalendar, load_calendar
from sim.counter import CounterPCs
from sim.faults import FaultView
from sim.fleet import Fleet, SimAgent, SimCommune, SimDevice
from sim.presence import Presence
from sim.shapes import DeviceDict, PingShape, ProbeShape, probe_targets
from sim.signing import SigningChain
from sim.site import SNMP_KINDS, SiteDevices, toner_replace_level
from sim.state import DeviceState, DeviceStatic, Ledger
from sim.workstation import host_facts


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


class Behaviour:
    """Measurement models of every agent of a fleet; one instance per simulation run."""

    def __init__(
        self,
        fleet: Fleet,
        seed: int,
        start: datetime,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.calendar = calendar if calendar is not None else load_calendar()
        self.presence = Presence(self.calendar, seed)
        self.ledger = Ledger()
        self.counters = CounterPCs(self.ledger, self.presence, SigningChain(self.presence, seed))
        self.site = SiteDevices(self.ledger)
        self._rngs: dict[str, random.Random] = {}
        self._lines: dict[str, PingShape] = {}
        self._communes: dict[str, SimCommune] = {c.code: c for c in fleet.communes}
        targets = probe_targets(fleet.province_code)
        # The site agent pings the provincial gateway across the commune's line.
        gateway = f"10.{int(fleet.province_code) % 250}.0.1"
        for commune_number, commune in enumerate(fleet.communes):
            busy = commune.dossiers_per_day / 150.0
            for pc_number, agent in enumerate(commune.agents):
                rng = self._rngs[agent.key] = random.Random(f"{seed}:{agent.key}")  # noqa: S311
                if agent.role == "site":
                    self._lines[agent.key] = PingShape(
                        f"ping:wan@{agent.hostname}",
                        DeviceKind.LINK,
                        "wan",
                        gateway,
                        agent.hostname,
                    )
                for host_number, device in enumerate(agent.devices):
                    self.ledger.states[device.device_id] = _initial_state(
                        device, commune, rng, start
                    )
                    # The site agent's devices from .10, the counter PCs (one agent each) from .100.
                    host = host_number + (100 + pc_number if agent.role == "pc" else 10)
                    address = f"10.{commune_number // 250}.{commune_number % 250}.{host}"
                    probes = tuple(ProbeShape(device.device_id, target) for target in targets)
                    self.ledger.statics[device.device_id] = _static(
                        device, address, busy, probes, agent
                    )

    def agent_report(
        self, agent: SimAgent, at: datetime, step_seconds: float, faults: FaultView
    ) -> list[DeviceDict] | None:
        """The devices part of ``agent``'s report at ``at``; None when the agent is off."""
        load = load_factor(at)
        commune = self._communes[agent.commune_code]
        rng = self._rngs[agent.key]
        if agent.role == "pc":
            return self.counters.report(agent, commune, at, step_seconds, load, faults, rng)
        link_down = agent.commune_code in faults.link_down
        rtt = commune.rtt_ms / 1000 * rng.uniform(0.8, 1.5)
        facts = self.ledger.facts_due(agent.key, at)
        devices = [self._lines[agent.key].report(not link_down, rtt, facts=facts)]
        devices += [
            self.site.report(device, commune, at, step_seconds, load, link_down, faults, rng)
            for device in agent.devices
        ]
        return devices


def _static(
    device: SimDevice,
    address: str,
    busy: float,
    probes: tuple[ProbeShape, ...],
    agent: SimAgent,
) -> DeviceStatic:
    facts = {
        "serial": device.serial,
        "brand": device.brand,
        "model": device.model,
        "hostname": device.device_id.lower(),
    }
    if device.kind is DeviceKind.PC:
        if device.pc is not None:
            facts = host_facts(
                device.device_id.lower(), device.serial, device.model, device.pc, address
            )
        return DeviceStatic(facts, address, busy, probes=probes)
    if device.kind in SNMP_KINDS:
        return DeviceStatic(facts, address, busy)
    ping = PingShape(
        device.device_id, device.kind, device.device_id.lower(), address, agent.hostname
    )
    return DeviceStatic({}, address, busy, ping=ping)


def _initial_state(
    device: SimDevice, commune: SimCommune, rng: random.Random, start: datetime
) -> DeviceState:
    state = DeviceState()
    if device.kind is DeviceKind.PC:
        state.disk_used = min(0.85, 0.35 + device.age_years * 0.04 + rng.random() * 0.15)
        if device.age_years > 8:
            state.reallocated = float(rng.randint(0, 12))
    elif device.kind in (DeviceKind.PRINTER, DeviceKind.MFP):
        state.toner_replace_at = toner_replace_level(commune)
        state.toner = state.toner_replace_at + rng.random() * (100.0 - state.toner_replace_at)
        state.pages = device.age_years * 6_000 * rng.uniform(0.5, 1.5)
    state.booted_at = start - timedelta(days=rng.uniform(0.5, 20))
    return state
