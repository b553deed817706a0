"""Counter PCs: switched on and off by the working calendar, their health and their probes.

A PC's agent starts when the clerk switches the PC on (``agent_started``: boot time, uptime, how
the last run ended), reports its host check, heartbeat, signing chain (:mod:`sim.signing`) and one
``service`` device per probed central system, and says goodbye (``agent_stopping``) in its last
report before a clean shutdown. Cut at the wall, or switched off by a fault, it simply falls
silent.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from agent.lifecycle import PreviousStop, StopReason, Uptime
from agent.self_report import started_event, stopping_event
from sim.faults import PC_OFF, FaultType, FaultView
from sim.fleet import SimAgent, SimCommune, SimDevice
from sim.presence import PowerSpan, Presence
from sim.shapes import PROBE_TIMEOUT_SECONDS, DeviceDict, EventDict, Sample, sample
from sim.signing import SigningChain
from sim.state import DeviceState, Ledger

GIB = 1024**3
AGENT_VERSION = "sim-0.2"
CONFIG_ETAG = "5f1c0a9e"
# Days a certificate lives, and how long before expiry it is renewed.
_CERT_LIFE_DAYS = 365.0
_CERT_RENEW_DAYS = 30.0
_DISK_LABELS = {"volume": "C:"}
_SMART_LABELS = {"disk": "0"}


class CounterPCs:
    """The models of every counter PC of a run."""

    def __init__(self, ledger: Ledger, presence: Presence, signing: SigningChain) -> None:
        self.ledger = ledger
        self.presence = presence
        self.signing = signing

    def report(
        self,
        agent: SimAgent,
        commune: SimCommune,
        at: datetime,
        step: float,
        load: float,
        faults: FaultView,
        rng: random.Random,
    ) -> list[DeviceDict] | None:
        """The PC's report at ``at`` (its own device, then its probes); None when it is off."""
        device = agent.devices[0]
        state = self.ledger.states[device.device_id]
        forced_off = bool(faults.device_faults(device.device_id) & PC_OFF)
        span = self.presence.span(agent.key, agent.commune_code, at)
        previous_at, state.seen_at = state.seen_at, at
        if span is None or forced_off:
            if state.on:
                # Switched off since the last report: with its goodbye, or not (at the wall, or
                # a fault pulled the plug).
                state.previous_stop = "clean" if state.said_goodbye else "unclean"
            state.on = False
            return None  # A switched-off PC runs no agent: silence is the symptom.
        events: list[EventDict] = []
        agent_started = not state.on
        if agent_started:
            started = self._start(state, span, at, step, previous_at, rng)
            if started is not None:
                events.append(started)
        state.on = True
        state.said_goodbye = False
        assert state.booted_at is not None
        if span.clean_end and span.off_at <= at + timedelta(seconds=step):
            # Shut down before the next report: this one is the last, with the goodbye.
            uptime = Uptime.at(at, state.booted_at.timestamp())
            events.append(stopping_event(StopReason.SHUTDOWN, uptime).model_dump(mode="json"))
            state.said_goodbye = True
        signing: tuple[list[Sample], dict[str, str]] = ([], {})
        if device.pc is not None:
            found, found_events, facts = self.signing.parts(
                agent.key,
                agent.commune_code,
                device.device_id,
                device.pc,
                state,
                at,
                faults.device_faults(device.device_id),
                agent_started,
            )
            signing = (found, facts)
            events += found_events
        pc, work, swapping = self._pc(device, at, step, load, faults, rng, signing)
        pc["events"] = events
        return [pc, *self._probes(device, commune, at, work, swapping, faults, rng)]

    def _start(
        self,
        state: DeviceState,
        span: PowerSpan,
        at: datetime,
        step: float,
        previous_at: datetime | None,
        rng: random.Random,
    ) -> EventDict | None:
        """Boot the PC's agent: its ``agent_started`` event (None if it was already running
        when the simulation began)."""
        if state.on is None and span.on_at <= at - timedelta(seconds=step):
            state.booted_at = span.on_at  # running before the first report of this run
            return None
        if previous_at is None or span.on_at > previous_at:
            booted = span.on_at  # the clerk switched it on
            previous = state.previous_stop or span.previous_stop
        else:
            # Back after a fault kept it off (power pulled, not switched on): booted just now.
            since = min(step, (at - span.on_at).total_seconds())
            booted = at - timedelta(seconds=rng.uniform(0.0, since))
            previous = state.previous_stop or "unclean"
        state.booted_at = booted
        state.previous_stop = None
        event = started_event(
            AGENT_VERSION,
            "central",
            CONFIG_ETAG,
            previous_stop=PreviousStop(previous),
            uptime=Uptime.at(at, booted.timestamp()),
        )
        return event.model_dump(mode="json")

    def _pc(
        self,
        device: SimDevice,
        at: datetime,
        step: float,
        load: float,
        faults: FaultView,
        rng: random.Random,
        signing: tuple[list[Sample], dict[str, str]],
    ) -> tuple[DeviceDict, float, bool]:
        """The PC's own device (host check, heartbeat and the ``signing`` parts), its workload and
        whether it swaps."""
        state = self.ledger.states[device.device_id]
        static = self.ledger.statics[device.device_id]
        own = faults.device_faults(device.device_id)
        work = load * (0.5 + static.busy)
        old = device.age_years > 8
        cpu = min(100.0, 3.0 + 45.0 * work + (12.0 * work if old else 0.0) + rng.random() * 8.0)
        small = device.memory_gb <= 4
        # A 4 GB PC swaps rather than run out: short of memory at peaks, never stuck there.
        memory = min(96.0, (58.0 + 36.0 * work if small else 30.0 + 30.0 * work) + rng.random() * 3)
        swap = min(95.0, (10.0 + 70.0 * work) if small else 2.0 + rng.random())
        # About 0.5 GB a working day of documents and browser cache; a technician cleans at 88 %.
        state.disk_used += load * step / 86_400 * 0.5 * 3 / max(1, device.disk_gb)
        if state.disk_used > 0.88:
            state.disk_used = 0.55 + rng.random() * 0.1
        disk_used = 0.995 if FaultType.DISK_FULL in own else state.disk_used
        disk_total = device.disk_gb * 1e9
        healthy = 1.0
        if FaultType.SMART_FAILURE in own:
            state.reallocated += step / 60.0 * (1 + rng.random() * 4)
            healthy = 0.0
        assert state.booted_at is not None
        samples: list[Sample] = [
            sample("cpu_percent", round(cpu, 1), {}),
            sample("memory_total_bytes", float(_memory_total(device)), {}),
            sample("memory_used_percent", round(memory, 1), {}),
            sample("swap_used_percent", round(swap, 1), {}),
            sample("disk_total_bytes", disk_total, _DISK_LABELS),
            sample("disk_used_percent", round(disk_used * 100, 2), _DISK_LABELS),
            sample("disk_free_bytes", round(disk_total * (1 - disk_used)), _DISK_LABELS),
            sample("smart_healthy", healthy, _SMART_LABELS),
            sample("smart_reallocated_sectors", float(int(state.reallocated)), _SMART_LABELS),
            sample("uptime_seconds", round((at - state.booted_at).total_seconds()), {}),
            sample("agent_up", 1.0, {}),
            *signing[0],
        ]
        facts = self.ledger.facts(device.device_id, at)
        pc: DeviceDict = {
            "device_id": device.device_id,
            "kind": "pc",
            "samples": samples,
            "facts": {**facts, **signing[1]} if signing[1] else facts,
        }
        return pc, work, small and work > 0.5

    def _probes(
        self,
        device: SimDevice,
        commune: SimCommune,
        at: datetime,
        work: float,
        swapping: bool,
        faults: FaultView,
        rng: random.Random,
    ) -> list[DeviceDict]:
        pc = self.ledger.statics[device.device_id]
        link_down = commune.code in faults.link_down
        facts = self.ledger.facts_due(f"probes@{device.device_id}", at)
        rtt = commune.rtt_ms / 1000.0
        out: list[DeviceDict] = []
        for shape in pc.probes:
            target = shape.target
            software = faults.software_state(commune.code, target.name)
            cert = _cert_days(at, target.name)
            dns = 0.004 + rng.random() * 0.012
            if link_down:
                phases = {"dns": dns, "total": PROBE_TIMEOUT_SECONDS + dns}
                out.append(shape.report("cut", phases, 0.0, cert, facts=facts))
                continue
            connect = rtt * rng.uniform(1.0, 1.2)
            tls = 2 * rtt + 0.008 + rng.random() * 0.004
            if software in ("outage", "maintenance"):
                # The server (or its maintenance page) answers 503 at once.
                ttfb, transfer = 0.04 + rng.random() * 0.1, 0.002 + rng.random() * 0.004
                size = 3_214.0 if software == "maintenance" else 1_182.0
                state = "fail" if software == "outage" else "maintenance"
            else:
                ttfb = (target.server_seconds + 0.6 * work) * math.exp(rng.gauss(0.0, 0.25))
                if swapping:
                    ttfb *= 1.4  # The probe shares a swapping machine with the browser.
                if software == "slow":
                    ttfb *= 8.0 + rng.random() * 4
                transfer = 0.02 + rng.random() * 0.04 + 4 * rtt
                size = target.page_bytes
                state = "slow" if software == "slow" else "ok"
            total = min(dns + connect + tls + ttfb + transfer, PROBE_TIMEOUT_SECONDS)
            phases = {
                "dns": dns,
                "connect": connect,
                "tls": tls,
                "ttfb": ttfb,
                "transfer": transfer,
                "total": total,
            }
            out.append(shape.report(state, phases, size, cert, facts=facts))
        return out

    # -- the site agent's devices -------------------------------------------------------------


def _memory_total(device: SimDevice) -> int:
    """What Windows reports as the PC's memory (the graphics reserve part of it)."""
    return device.pc.ram_total_bytes if device.pc is not None else device.memory_gb * GIB


def _cert_days(at: datetime, target: str) -> float:
    """Days left on a target's certificate: renewed a month before expiry, every year."""
    offset = 97.0 if target == "motcua" else 211.0
    days = (at.timestamp() / 86_400 + offset) % (_CERT_LIFE_DAYS - _CERT_RENEW_DAYS)
    return _CERT_LIFE_DAYS - days
