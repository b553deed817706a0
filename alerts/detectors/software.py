"""The central systems (``systems.yaml``) as the communes' PCs see them through their probes:
one ``software_outage`` per system failing from many communes at once, for its vendor; what one
commune alone sees is that commune's ticket, ``software_slow_site`` (the system, there) or
``site_link_degraded`` (its line: slow TCP/TLS phases or a degraded ping).

Probe results, the province's baseline per target and the site pings are kept in memory: they
describe the last few minutes, which a restart re-learns in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from alerts import incidents
from alerts.calendar import WorkingCalendar
from alerts.desk import Desk, Symptom
from alerts.observations import Observations, PingSample, ProbeResult, unreachable_probe
from alerts.rules import Rules
from alerts.systems import System, SystemMap


@dataclass(slots=True)
class _ProbeState:
    at: datetime
    bad: bool
    evidence: str
    # Slow in the connect/TLS phases: the path (the commune's line) rather than the server.
    path: bool = False
    system: str = ""
    # The system showed its maintenance page.
    maintenance: bool = False


@dataclass(slots=True)
class _Tally:
    """Probe results of one commune for one central system within the window."""

    seen: int = 0
    bad: int = 0
    paths: int = 0
    maintenance: int = 0
    # target -> the newest bad evidence ("PC: HTTP 503")
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _PingState:
    at: datetime
    rtt: float | None
    loss: float
    baseline: float | None


class SoftwareDetector:
    """``software_outage``, ``software_slow_site`` and ``site_link_degraded`` from probes."""

    def __init__(
        self, desk: Desk, rules: Rules, systems: SystemMap, calendar: WorkingCalendar
    ) -> None:
        self.desk = desk
        self.rules = rules
        self.systems = systems
        self.calendar = calendar
        # Every system a probe named, declared or not, by id (for the ticket's names).
        self._seen_systems: dict[str, System] = {}
        # Probe results per (commune, device, target), and the province's baseline per target.
        self._probes: dict[tuple[str, str, str], _ProbeState] = {}
        self._baseline: dict[str, float] = {}
        # Since when a commune has been affected, per (commune, system).
        self._bad_since: dict[tuple[str, str], datetime] = {}
        # Communes affected by a system failing there alone (not province-wide) at the last
        # grouping: the only ones that can hold a site ticket of their own.
        self._local: set[str] = set()
        self._probe_clock: datetime | None = None
        self._pings: dict[str, _PingState] = {}

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """Learn the batch's probes and pings, then regroup the province."""
        for ping in seen.pings:
            self._ping_sample(ping)
        for probe in seen.probes:
            self._probe_result(probe)
        self._group_software(conn, now)

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Nothing: probe results arrive with reports."""

    # -- learning -----------------------------------------------------------------------------

    def _probe_result(self, probe: ProbeResult) -> None:
        software = self.rules.software
        slot, target, at = probe.values, probe.target, probe.at
        self._seen_systems.setdefault(probe.system.id, probe.system)
        if unreachable_probe(slot):
            return  # could not connect at all: the path, not the server (link evidence)
        success = slot.get("probe_success", 1.0) >= 1
        status = slot.get("probe_http_status", 200.0)
        duration = slot.get("duration", 0.0)
        baseline = self._baseline.get(target)
        limit = max(software.slow_min_seconds, software.slow_factor * (baseline or duration))
        slow = success and baseline is not None and duration > limit
        bad = not success or slow
        if success and not slow:
            weight = software.baseline_weight if baseline is not None else 1.0
            self._baseline[target] = (baseline or 0.0) * (1 - weight) + duration * weight
        key = (probe.commune_code, probe.device_id, target)
        previous = self._probes.get(key)
        if previous is None or previous.at <= at:
            maintenance = slot.get("probe_maintenance", 0.0) >= 1
            evidence = f"HTTP {status:g}" if not success else f"{duration:.2f} s (> {limit:.2f} s)"
            if maintenance:
                evidence = f"maintenance page shown ({evidence})"
            path_time = slot.get("connect", 0.0) + slot.get("tls", 0.0)
            path = slow and path_time >= software.path_share * duration
            if slow and ("connect" in slot or "tls" in slot):
                evidence += f", connect+tls {path_time:.2f} s, ttfb {slot.get('ttfb', 0.0):.2f} s"
            self._probes[key] = _ProbeState(
                at, bad, evidence, path, probe.system.id, maintenance and bad
            )
        if self._probe_clock is None or at > self._probe_clock:
            self._probe_clock = at

    def _ping_sample(self, ping: PingSample) -> None:
        state = self._pings.get(ping.commune_code)
        if state is None:
            state = self._pings[ping.commune_code] = _PingState(ping.at, None, 0.0, None)
        elif ping.at < state.at:
            return
        if ping.at > state.at:
            state.at, state.rtt, state.loss = ping.at, None, 0.0
        if ping.name == "ping_loss_ratio":
            state.loss = ping.value
            return
        state.rtt = ping.value
        if not self._ping_degraded(state):
            weight = self.rules.software.baseline_weight
            state.baseline = (
                ping.value
                if state.baseline is None
                else (state.baseline * (1 - weight) + ping.value * weight)
            )

    def _ping_degraded(self, state: _PingState) -> bool:
        site = self.rules.site
        if 0 < state.loss < 1 and state.loss >= site.ping_loss_ratio:
            return True  # a total loss is the link being down: site_outage's business
        if state.rtt is None or state.baseline is None:
            return False
        return state.rtt > max(site.ping_rtt_min_seconds, site.ping_rtt_factor * state.baseline)

    # -- grouping -----------------------------------------------------------------------------

    def _tallies(self) -> dict[tuple[str, str], _Tally]:
        """Recent probe results per (commune, system); older ones are forgotten."""
        assert self._probe_clock is not None
        horizon = self._probe_clock - self.rules.software.window
        per: dict[tuple[str, str], _Tally] = {}
        stale = []
        for (commune, device_id, target), state in self._probes.items():
            if state.at < horizon:
                stale.append((commune, device_id, target))
                continue
            tally = per.setdefault((commune, state.system), _Tally())
            tally.seen += 1
            if state.bad:
                tally.bad += 1
                tally.paths += int(state.path)
                tally.maintenance += int(state.maintenance)
                tally.evidence[target] = f"{device_id}: {state.evidence}"
        for gone in stale:
            del self._probes[gone]
        return per

    def _group_software(self, conn: Connection, now: datetime) -> None:
        """One ``software_outage`` per central system failing from many communes at once."""
        if self._probe_clock is None:
            return
        software = self.rules.software
        # Per system: the communes whose probes of it report, and those affected.
        reporting: dict[str, int] = {}
        bad: dict[str, dict[str, _Tally]] = {}
        for (commune, system), tally in self._tallies().items():
            reporting[system] = reporting.get(system, 0) + 1
            if tally.seen and tally.bad / tally.seen >= software.commune_share:
                if tally.maintenance == tally.bad and not self.calendar.is_open(
                    commune, self._probe_clock
                ):
                    # A maintenance page out of opening hours troubles no citizen: in hours,
                    # and outside any declared window, it is an outage like any other.
                    continue
                bad.setdefault(system, {})[commune] = tally
        flip_at = self._probe_clock
        self._track_bad_since(bad, flip_at)
        wide = {
            system
            for system, communes in bad.items()
            if len(communes) >= software.min_communes
            and len(communes) >= software.province_share * reporting[system]
        }
        self._end_sites(conn, bad, wide, flip_at, now)
        active = incidents.active_software_outages(conn)
        for system in sorted(wide):
            self._raise_outage(conn, system, bad[system], reporting[system], now)
        for ended in sorted(active - {f"software_outage:{system}" for system in wide}):
            self.desk.end_key(conn, ended, flip_at, now)
            # Communes still showing the province-wide trouble have simply not reported their
            # recovery yet: each must confirm afresh before it becomes its own ticket.
            system = ended.partition(":")[2]
            for commune in bad.get(system, {}):
                self._bad_since[(commune, system)] = flip_at
        self._group_sites(conn, bad, wide, now)

    def _track_bad_since(self, bad: dict[str, dict[str, _Tally]], flip_at: datetime) -> None:
        """Remember since when each commune is affected by each system."""
        for pair in list(self._bad_since):
            if pair[0] not in bad.get(pair[1], {}):
                del self._bad_since[pair]
        for system, communes in bad.items():
            for commune in communes:
                self._bad_since.setdefault((commune, system), flip_at)

    def _end_sites(
        self,
        conn: Connection,
        bad: dict[str, dict[str, _Tally]],
        wide: set[str],
        flip_at: datetime,
        now: datetime,
    ) -> None:
        """End the commune tickets of communes no longer affected on their own. A system failing
        province-wide is its vendor's ticket, not the commune's: a commune still showing it
        (a local slowness followed by a maintenance page everywhere) has no trouble of its own.
        """
        local = {
            commune
            for system, communes in bad.items()
            if system not in wide
            for commune in communes
        }
        for commune in sorted(self._local - local):
            self.desk.end_key(conn, f"software_slow_site:{commune}", flip_at, now)
            self.desk.end_key(conn, f"site_link_degraded:{commune}", flip_at, now)
        self._local = local

    def _raise_outage(
        self,
        conn: Connection,
        system: str,
        communes: dict[str, _Tally],
        reporting: int,
        now: datetime,
    ) -> None:
        name_vi, name_en = self._system_names(system)
        self.desk.raise_(
            conn,
            Symptom(
                key=f"software_outage:{system}",
                problem_class="software_outage",
                commune_code=None,
                device_id=None,
                device_kind=None,
                signal=f"probe:{system}",
                started_at=min(self._bad_since[(c, system)] for c in communes),
                evidence={
                    "communes": sorted(communes),
                    "targets": sorted({t for tly in communes.values() for t in tly.evidence}),
                    "affected_share": f"{len(communes)}/{reporting}",
                    # One PC's words per target: what a citizen at a counter sees.
                    **{
                        f"probe {target}": seen
                        for tally in communes.values()
                        for target, seen in sorted(tally.evidence.items())
                    },
                },
                signal_vi="các xã không dùng được hệ thống",
                signal_en="communes cannot use the system",
                system=system,
                system_vi=name_vi,
                system_en=name_en,
            ),
            now,
        )

    def _group_sites(
        self,
        conn: Connection,
        bad: dict[str, dict[str, _Tally]],
        wide: set[str],
        now: datetime,
    ) -> None:
        """A commune affected on its own (systems not failing province-wide), confirmed for
        ``site_confirm``: one ticket for the commune naming every system it affects."""
        assert self._probe_clock is not None
        local: dict[str, dict[str, _Tally]] = {}
        for system_id, communes in bad.items():
            if system_id in wide:
                continue
            for commune, tally in communes.items():
                since = self._bad_since[(commune, system_id)]
                if self._probe_clock - since >= self.rules.software.site_confirm:
                    local.setdefault(commune, {})[system_id] = tally
        for commune, found in sorted(local.items()):
            self.desk.raise_(conn, self._site_symptom(conn, commune, found), now)

    def _site_symptom(self, conn: Connection, commune: str, found: dict[str, _Tally]) -> Symptom:
        since = min(self._bad_since[(commune, system)] for system in found)
        paths = sum(tally.paths for tally in found.values())
        count = sum(tally.bad for tally in found.values())
        problem_class = self._path_class(conn, commune, paths, count)
        facts: dict[str, Any] = {
            f"probe {target}": evidence
            for tally in found.values()
            for target, evidence in tally.evidence.items()
        }
        ping = self._pings.get(commune)
        if ping is not None:
            facts["site ping"] = (
                f"rtt {ping.rtt if ping.rtt is not None else float('nan'):.3f} s "
                f"(usual {ping.baseline or 0.0:.3f} s), loss {ping.loss:.0%}"
            )
        names = [self._system_names(system_id) for system_id in sorted(found)]
        system: str | None = None
        system_vi = system_en = ""
        if problem_class == "site_link_degraded":
            signal_vi = "đường truyền của xã chậm: thời gian kết nối hoặc ping tăng cao"
            signal_en = "the commune's line is slow: connect time or ping is high"
        else:
            signal_vi = "hệ thống chậm hoặc lỗi chỉ tại xã này, đường truyền bình thường"
            signal_en = "system slow or failing at this commune only; the line is fine"
            # One system alone can be routed by it; several at once are the site's.
            system = next(iter(found)) if len(found) == 1 else None
            system_vi = "; ".join(vi for vi, _ in names)
            system_en = "; ".join(en for _, en in names)
        targets = sorted({t for tally in found.values() for t in tally.evidence})
        return Symptom(
            key=f"{problem_class}:{commune}",
            problem_class=problem_class,
            commune_code=commune,
            device_id=None,
            device_kind=None,
            signal="probe:" + ",".join(targets),
            started_at=since,
            evidence=facts,
            signal_vi=signal_vi,
            signal_en=signal_en,
            system=system,
            system_vi=system_vi,
            system_en=system_en,
        )

    def _path_class(self, conn: Connection, commune: str, paths: int, bad: int) -> str:
        """Whether a commune's slowness is its line's (site_link_degraded) or the system's."""
        for problem_class in ("site_link_degraded", "software_slow_site"):
            row = self.desk.latest(conn, f"{problem_class}:{commune}")
            if row is not None and row.active:
                return problem_class  # an open incident keeps its class while it lasts
        ping = self._pings.get(commune)
        if paths * 2 > bad or (ping is not None and self._ping_degraded(ping)):
            return "site_link_degraded"
        return "software_slow_site"

    def _system_names(self, system_id: str) -> tuple[str, str]:
        system = self._seen_systems.get(system_id) or self.systems.get(system_id)
        return (system.name_vi, system.name_en) if system is not None else (system_id, system_id)
