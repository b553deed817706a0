"""Rule evaluation and root-cause grouping: a journal consumer plus a scheduled silence sweep.

Per report (inside the processor's transaction, so a crash never half-applies a decision):
per-device threshold rules with ``for:`` durations and the supply forecast; link evidence of the
commune (router WAN state, probes that cannot connect) that fixes a site outage's real start and
end from replayed reports; probe results of the central systems (systems.yaml), grouped into one
province-wide ``software_outage`` per system or a single commune's ``software_slow_site``.

On a schedule (:meth:`AlertEngine.sweep` with the injected clock): agents silent for 1.5
heartbeats, grouped into ``site_outage`` (the whole commune silent: one ticket for the ISP, the
agents attached as suppressed members) or ``device_down`` (one agent silent while its neighbours
report); the hold-down that resolves tickets; SLA breaches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, select, update

from agent.checks.base import Clock
from alerts.desk import SYSTEM, Desk, Symptom
from alerts.forecast import days_to_empty
from alerts.rates import evaluate_rates
from alerts.routing import Routing
from alerts.rules import Rules, ThresholdRule
from alerts.schema import incidents, rule_state, tickets
from alerts.systems import System, SystemMap, load_systems
from collector.processor import StoredReport
from collector.schema import agents, device_state

log = logging.getLogger(__name__)

# Forecast history: a point when the level moves, or hourly; a bounded number of points.
_HISTORY_POINTS = 96
_HISTORY_SPACING = timedelta(hours=1)


@dataclass(slots=True)
class _RuleHit:
    """The newest evaluation of one rule on one device within a batch."""

    rule: ThresholdRule
    commune_code: str
    device_id: str
    kind: str
    at: datetime
    firing: bool
    evidence: dict[str, Any]
    levels: list[tuple[datetime, float]] = field(default_factory=list)
    # Counter points (measured at, series, value) of a ``rate`` rule, from every report.
    points: list[tuple[datetime, str, float]] = field(default_factory=list)


@dataclass(slots=True)
class _ProbeState:
    at: datetime
    bad: bool
    evidence: str
    # Slow in the connect/TLS phases: the path (the commune's line) rather than the server.
    path: bool = False
    system: str = ""


@dataclass(slots=True)
class _Tally:
    """Probe results of one commune for one central system within the window."""

    seen: int = 0
    bad: int = 0
    paths: int = 0
    # target -> the newest bad evidence ("PC: HTTP 503")
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _PingState:
    at: datetime
    rtt: float | None
    loss: float
    baseline: float | None


class AlertEngine:
    """Evaluates rules on processed reports and on a schedule; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        rules: Rules,
        routing: Routing,
        clock: Clock,
        *,
        heartbeat_seconds: float,
        public_url: str = "http://127.0.0.1:8080",
        systems: SystemMap | None = None,
    ) -> None:
        self._engine = engine
        self.rules = rules
        self.routing = routing
        self._clock = clock
        self.desk = Desk(rules, routing, public_url)
        self._heartbeat = timedelta(seconds=heartbeat_seconds)
        self._by_metric = rules.by_metric()
        self.systems = systems if systems is not None else load_systems()
        # Every system a probe named, declared or not, by id (for the ticket's names).
        self._seen_systems: dict[str, System] = {}
        # Probe results per (commune, device, target), and the province's baseline per target.
        # In memory: they describe the last few minutes, which a restart re-learns in minutes.
        self._probes: dict[tuple[str, str, str], _ProbeState] = {}
        self._baseline: dict[str, float] = {}
        # Since when a commune has been affected, per (commune, system).
        self._bad_since: dict[tuple[str, str], datetime] = {}
        self._probe_clock: datetime | None = None
        self._pings: dict[str, _PingState] = {}
        self.evaluated_reports = 0

    # -- journal consumer ---------------------------------------------------------------------

    def consume(self, conn: Connection, reports: Sequence[StoredReport]) -> None:
        """Evaluate a batch of processed reports (called inside the processor's transaction)."""
        now = self._clock.now()
        hits: dict[tuple[str, str, str], _RuleHit] = {}
        link: dict[str, list[tuple[datetime, bool, str]]] = {}
        reporting_agents: dict[str, datetime] = {}
        for item in reports:
            at = item.measured_at
            first = reporting_agents.get(item.agent_id)
            if first is None or at < first:
                reporting_agents[item.agent_id] = at
            for device in item.data["devices"]:
                self._device(item.commune_code, device, at, hits, link)
        self.evaluated_reports += len(reports)
        if reporting_agents:
            self._end_device_silence(conn, reporting_agents, now)
        if link:
            self._link_evidence(conn, link, now)
        if hits:
            self._apply_hits(conn, hits, now)
        self._group_software(conn, now)

    def _device(
        self,
        commune: str,
        device: dict[str, Any],
        at: datetime,
        hits: dict[tuple[str, str, str], _RuleHit],
        link: dict[str, list[tuple[datetime, bool, str]]],
    ) -> None:
        kind = device["kind"]
        device_id = device["device_id"]
        probes: dict[str, dict[str, float]] = {}
        probe_systems: dict[str, System] = {}
        wan_interface = self.rules.site.wan_interface
        for sample in device["samples"]:
            name = sample["name"]
            labels = sample.get("labels") or {}
            value = float(sample["value"])
            rules = self._by_metric.get(name)
            if rules is not None:
                for rule in rules:
                    if not rule.applies_to(kind) or not rule.label_match(labels):
                        continue
                    key = (rule.name, commune, device_id)
                    hit = hits.get(key)
                    if rule.rate:
                        # Every report's counters count, older ones too: rates need pairs.
                        if hit is None:
                            hit = hits[key] = _RuleHit(
                                rule, commune, device_id, kind, at, False, {}
                            )
                        hit.at = max(hit.at, at)
                        hit.points.append((at, _series(name, labels), value))
                        continue
                    if hit is None or hit.at < at:
                        hit = hits[key] = _RuleHit(
                            rule,
                            commune,
                            device_id,
                            kind,
                            at,
                            False,
                            {},
                            hit.levels if hit is not None else [],
                        )
                    elif hit.at > at:
                        continue
                    if rule.matches(value):
                        hit.firing = True
                        hit.evidence[_series(name, labels)] = value
                    if rule.forecast_days is not None:
                        hit.levels.append((at, value))
                        hit.evidence.setdefault(_series(name, labels), value)
            if (
                name == "if_oper_up"
                and kind == "router"
                and labels.get("interface") == wan_interface
            ):
                link.setdefault(commune, []).append(
                    (at, value < 1, f"{device_id} {wan_interface} if_oper_up={value:g}")
                )
            elif name.startswith("probe_") and (
                system := self.systems.system_for(labels.get("target"), labels.get("host"))
            ):
                target = labels.get("target") or labels["host"]
                probe_systems[target] = system
                slot = probes.setdefault(target, {})
                if name == "probe_duration_seconds":
                    phase = labels.get("phase", "total")
                    slot["duration" if phase == "total" else phase] = value
                else:
                    slot[name] = value
            elif (
                kind == "router"
                and name in ("ping_rtt_seconds", "ping_loss_ratio")
                and (name == "ping_loss_ratio" or labels.get("stat", "avg") == "avg")
            ):
                self._ping_sample(commune, at, name, value)
        if probes:
            self._probe_results(commune, device_id, at, probes, probe_systems, link)

    # -- probes and software ------------------------------------------------------------------

    def _probe_results(
        self,
        commune: str,
        device_id: str,
        at: datetime,
        probes: dict[str, dict[str, float]],
        systems: dict[str, System],
        link: dict[str, list[tuple[datetime, bool, str]]],
    ) -> None:
        software = self.rules.software
        unreachable = 0
        for target, slot in probes.items():
            system = systems[target]
            self._seen_systems.setdefault(system.id, system)
            success = slot.get("probe_success", 1.0) >= 1
            status = slot.get("probe_http_status", 200.0)
            duration = slot.get("duration", 0.0)
            if not success and status == 0:
                # Could not connect at all: the path, not the server (link evidence below).
                unreachable += 1
                continue
            baseline = self._baseline.get(target)
            limit = max(software.slow_min_seconds, software.slow_factor * (baseline or duration))
            slow = success and baseline is not None and duration > limit
            bad = not success or slow
            if success and not slow:
                weight = software.baseline_weight if baseline is not None else 1.0
                self._baseline[target] = (baseline or 0.0) * (1 - weight) + duration * weight
            key = (commune, device_id, target)
            previous = self._probes.get(key)
            if previous is None or previous.at <= at:
                evidence = (
                    f"HTTP {status:g}" if not success else f"{duration:.2f} s (> {limit:.2f} s)"
                )
                path_time = slot.get("connect", 0.0) + slot.get("tls", 0.0)
                path = slow and path_time >= software.path_share * duration
                if slow and ("connect" in slot or "tls" in slot):
                    evidence += (
                        f", connect+tls {path_time:.2f} s, ttfb {slot.get('ttfb', 0.0):.2f} s"
                    )
                self._probes[key] = _ProbeState(at, bad, evidence, path, system.id)
            if self._probe_clock is None or at > self._probe_clock:
                self._probe_clock = at
        if unreachable and unreachable == len(probes):
            link.setdefault(commune, []).append(
                (at, True, f"{device_id}: no central system reachable")
            )
        elif unreachable == 0:
            link.setdefault(commune, []).append((at, False, f"{device_id}: probes connect"))

    def _ping_sample(self, commune: str, at: datetime, name: str, value: float) -> None:
        state = self._pings.get(commune)
        if state is None:
            state = self._pings[commune] = _PingState(at, None, 0.0, None)
        elif at < state.at:
            return
        if at > state.at:
            state.at, state.rtt, state.loss = at, None, 0.0
        if name == "ping_loss_ratio":
            state.loss = value
            return
        state.rtt = value
        if not self._ping_degraded(state):
            weight = self.rules.software.baseline_weight
            state.baseline = (
                value
                if state.baseline is None
                else (state.baseline * (1 - weight) + value * weight)
            )

    def _ping_degraded(self, state: _PingState) -> bool:
        site = self.rules.site
        if 0 < state.loss < 1 and state.loss >= site.ping_loss_ratio:
            return True  # a total loss is the link being down: site_outage's business
        if state.rtt is None or state.baseline is None:
            return False
        return state.rtt > max(site.ping_rtt_min_seconds, site.ping_rtt_factor * state.baseline)

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

    @staticmethod
    def _active_outages(conn: Connection) -> set[str]:
        # Read in the batch's transaction, not cached: a rolled-back batch must not leave
        # memory and store disagreeing. Only software outages have no commune, so the
        # (commune_code, active) index finds them.
        return set(
            conn.execute(
                select(incidents.c.key).where(
                    incidents.c.commune_code.is_(None),
                    incidents.c.active.is_(True),
                    incidents.c.problem_class == "software_outage",
                )
            ).scalars()
        )

    def _group_software(self, conn: Connection, now: datetime) -> None:
        """One ``software_outage`` per central system failing from many communes at once; what
        one commune alone sees is its own ticket (``software_slow_site``/``site_link_degraded``).
        """
        if self._probe_clock is None:
            return
        software = self.rules.software
        horizon = self._probe_clock - software.window
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
                tally.evidence[target] = f"{device_id}: {state.evidence}"
        for gone in stale:
            del self._probes[gone]
        # Per system: the communes whose probes of it report, and those affected.
        reporting: dict[str, int] = {}
        bad: dict[str, dict[str, _Tally]] = {}
        for (commune, system), tally in per.items():
            reporting[system] = reporting.get(system, 0) + 1
            if tally.seen and tally.bad / tally.seen >= software.commune_share:
                bad.setdefault(system, {})[commune] = tally
        flip_at = self._probe_clock
        before = {commune for commune, _ in self._bad_since}
        for pair in list(self._bad_since):
            if pair[0] not in bad.get(pair[1], {}):
                del self._bad_since[pair]
        for system, communes in bad.items():
            for commune in communes:
                self._bad_since.setdefault((commune, system), flip_at)
        for commune in before - {commune for commune, _ in self._bad_since}:
            self._end_key(conn, f"software_slow_site:{commune}", flip_at, now)
            self._end_key(conn, f"site_link_degraded:{commune}", flip_at, now)
        wide = {
            system
            for system, communes in bad.items()
            if len(communes) >= software.min_communes
            and len(communes) >= software.province_share * reporting[system]
        }
        active = self._active_outages(conn)
        for system in sorted(wide):
            communes = bad[system]
            name_vi, name_en = self._system_names(system)
            key = f"software_outage:{system}"
            self.desk.raise_(
                conn,
                Symptom(
                    key=key,
                    problem_class="software_outage",
                    commune_code=None,
                    device_id=None,
                    device_kind=None,
                    signal=f"probe:{system}",
                    started_at=min(self._bad_since[(c, system)] for c in communes),
                    evidence={
                        "communes": sorted(communes),
                        "targets": sorted({t for tly in communes.values() for t in tly.evidence}),
                        "affected_share": f"{len(communes)}/{reporting[system]}",
                    },
                    signal_vi="các xã không dùng được hệ thống",
                    signal_en="communes cannot use the system",
                    system=system,
                    system_vi=name_vi,
                    system_en=name_en,
                ),
                now,
            )
        for ended in sorted(active - {f"software_outage:{system}" for system in wide}):
            self._end_key(conn, ended, flip_at, now)
            # Communes still showing the province-wide trouble have simply not reported their
            # recovery yet: each must confirm afresh before it becomes its own ticket.
            system = ended.partition(":")[2]
            for commune in bad.get(system, {}):
                self._bad_since[(commune, system)] = flip_at
        self._group_sites(conn, bad, wide, now)

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
        software = self.rules.software
        local: dict[str, dict[str, _Tally]] = {}
        for system_id, communes in bad.items():
            if system_id in wide:
                continue
            for commune, tally in communes.items():
                since = self._bad_since[(commune, system_id)]
                if self._probe_clock - since >= software.site_confirm:
                    local.setdefault(commune, {})[system_id] = tally
        for commune, found in sorted(local.items()):
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
            self.desk.raise_(
                conn,
                Symptom(
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
                ),
                now,
            )

    # -- link evidence and site outages -------------------------------------------------------

    def _link_evidence(
        self, conn: Connection, link: dict[str, list[tuple[datetime, bool, str]]], now: datetime
    ) -> None:
        for commune, points in link.items():
            points.sort(key=lambda p: p[0])
            row = self.desk.latest(conn, f"site_outage:{commune}")
            for at, down, evidence in points:
                if down:
                    row = self._down_evidence(conn, commune, row, at, evidence, now)
                elif row is not None and row.active and at > row.started_at:
                    self.desk.end(conn, row.id, at, now)
                    row = self.desk.latest(conn, f"site_outage:{commune}")
                elif (
                    row is not None
                    and not row.active
                    and row.ended_at is not None
                    and row.started_at < at < row.ended_at
                ):
                    # Replayed "up" evidence inside the recorded outage: it ended earlier.
                    self.desk.move_end(conn, row.id, at)
                    row = self.desk.latest(conn, f"site_outage:{commune}")

    def _down_evidence(
        self, conn: Connection, commune: str, row: Any, at: datetime, evidence: str, now: datetime
    ) -> Any:
        key = f"site_outage:{commune}"
        if row is not None:
            facts = json.loads(row.evidence)
            last_up = _parse_time(facts.get("last_up_at"))
            if row.active and (last_up is None or at > last_up):
                if not facts.get("start_confirmed") or at < row.started_at:
                    facts["start_confirmed"] = True
                    facts["link"] = evidence
                    conn.execute(
                        update(incidents)
                        .where(incidents.c.id == row.id)
                        .values(evidence=json.dumps(facts, ensure_ascii=False))
                    )
                    self.desk.move_start(conn, row.id, at)
                return self.desk.latest(conn, key)
            if row.active or (row.ended_at is not None and at <= row.ended_at):
                return row
        # Down evidence newer than everything known: the site says its own link is down.
        self.desk.raise_(
            conn,
            Symptom(
                key=key,
                problem_class="site_outage",
                commune_code=commune,
                device_id=None,
                device_kind=None,
                signal="link",
                started_at=at,
                evidence={"link": evidence, "start_confirmed": True},
                signal_vi="đường truyền của xã bị mất",
                signal_en="the commune's link is down",
            ),
            now,
        )
        return self.desk.latest(conn, key)

    # -- threshold rules ----------------------------------------------------------------------

    def _apply_hits(
        self, conn: Connection, hits: dict[tuple[str, str, str], _RuleHit], now: datetime
    ) -> None:
        devices = {device for _, _, device in hits}
        stored = {
            (row.rule, row.commune_code, row.device_id): row
            for row in conn.execute(select(rule_state).where(rule_state.c.device_id.in_(devices)))
            if (row.rule, row.commune_code, row.device_id) in hits
        }
        for key, hit in hits.items():
            self._apply_hit(conn, hit, stored.get(key), now)

    def _apply_hit(self, conn: Connection, hit: _RuleHit, row: Any, now: datetime) -> None:
        rule = hit.rule
        history: list[list[Any]] = json.loads(row.history) if row is not None else []
        if rule.forecast_days is not None and hit.levels:
            history = _extend_history(history, hit.levels)
            empty_in = days_to_empty(
                history, min_points=rule.forecast_min_points, min_span=rule.forecast_min_span
            )
            if empty_in is not None:
                hit.evidence["forecast_empty_days"] = round(empty_in, 1)
                hit.evidence["forecast_empty_at"] = (hit.at + timedelta(days=empty_in)).isoformat(
                    timespec="minutes"
                )
                if empty_in <= rule.forecast_days:
                    hit.firing = True
        pending = row.pending_since if row is not None else None
        if row is not None and hit.at < row.last_at:
            return  # an older replayed report: the stored state is newer
        cleared_at = hit.at
        if rule.rate:
            outcome = evaluate_rates(history, hit.points, rule.matches, pending)
            history = outcome.history
            hit.firing = outcome.pending_since is not None
            hit.evidence.update({f"{name} /s": rate for name, rate in outcome.breaking.items()})
            pending = outcome.pending_since
            cleared_at = outcome.cleared_at or hit.at
        else:
            pending = (pending or hit.at) if hit.firing else None
        key = f"{rule.problem_class}:{rule.name}:{hit.commune_code}:{hit.device_id}"
        if pending is None and not history:
            if row is not None:
                conn.execute(
                    delete(rule_state).where(
                        rule_state.c.rule == rule.name,
                        rule_state.c.commune_code == hit.commune_code,
                        rule_state.c.device_id == hit.device_id,
                    )
                )
        else:
            values = {"pending_since": pending, "last_at": hit.at, "history": json.dumps(history)}
            if row is None:
                conn.execute(
                    rule_state.insert().values(
                        rule=rule.name,
                        commune_code=hit.commune_code,
                        device_id=hit.device_id,
                        **values,
                    )
                )
            else:
                conn.execute(
                    update(rule_state)
                    .where(
                        rule_state.c.rule == rule.name,
                        rule_state.c.commune_code == hit.commune_code,
                        rule_state.c.device_id == hit.device_id,
                    )
                    .values(**values)
                )
        if pending is not None and hit.at - pending >= rule.for_:
            self.desk.raise_(
                conn,
                Symptom(
                    key=key,
                    problem_class=rule.problem_class,
                    commune_code=hit.commune_code,
                    device_id=hit.device_id,
                    device_kind=hit.kind,
                    signal=rule.name,
                    started_at=pending,
                    evidence=hit.evidence,
                    signal_vi=rule.text_vi,
                    signal_en=rule.text_en,
                ),
                now,
            )
        elif pending is None and row is not None and row.pending_since is not None:
            self._end_key(conn, key, cleared_at, now)

    def _end_key(self, conn: Connection, key: str, at: datetime, now: datetime) -> bool:
        row = self.desk.latest(conn, key)
        if row is None or not row.active:
            return False
        self.desk.end(conn, row.id, max(at, row.started_at), now)
        return True

    # -- silence ------------------------------------------------------------------------------

    def _end_device_silence(
        self, conn: Connection, first_report: dict[str, datetime], now: datetime
    ) -> None:
        for row in conn.execute(
            select(incidents.c.id, incidents.c.key, incidents.c.started_at).where(
                incidents.c.active.is_(True),
                incidents.c.problem_class == "device_down",
                incidents.c.signal == "silence",
            )
        ).all():
            agent_id = row.key.rsplit(":", 1)[-1]
            at = first_report.get(agent_id)
            if at is not None and at >= row.started_at:
                self.desk.end(conn, row.id, at, now)

    def sweep(self) -> None:
        """Silence grouping, hold-down resolution and SLA breaches at the clock's now."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            self._silence(conn, now)
            self._resolve_held(conn, now)
            self._breaches(conn, now)

    def _silence(self, conn: Connection, now: datetime) -> None:
        limit = self._heartbeat * self.rules.silence.heartbeat_factor
        by_commune: dict[str, list[Any]] = {}
        for row in conn.execute(
            select(agents.c.id, agents.c.commune_code, agents.c.last_measured_at).where(
                agents.c.revoked_at.is_(None), agents.c.last_measured_at.is_not(None)
            )
        ):
            by_commune.setdefault(row.commune_code, []).append(row)
        for commune, members in by_commune.items():
            silent = [m for m in members if now - m.last_measured_at > limit]
            if not silent:
                self._end_site_by_silence(conn, commune, members, now)
                continue
            if len(silent) == len(members):
                self._site_outage(conn, commune, members, now)
                continue
            self._end_site_by_silence(conn, commune, members, now)
            newest = max(m.last_measured_at for m in members)
            for member in silent:
                # Silent "while its neighbours report": a neighbour measured after this agent
                # should have reported again, so the site itself is up.
                if newest - member.last_measured_at <= limit:
                    continue
                self._device_silent(conn, member, now)

    def _site_outage(
        self, conn: Connection, commune: str, members: list[Any], now: datetime
    ) -> None:
        last_up = max(m.last_measured_at for m in members)
        key = f"site_outage:{commune}"
        row = self.desk.latest(conn, key)
        if row is not None and (
            row.active or (row.ended_at is not None and row.ended_at > last_up)
        ):
            incident_id = int(row.id)
        else:
            incident_id = self.desk.raise_(
                conn,
                Symptom(
                    key=key,
                    problem_class="site_outage",
                    commune_code=commune,
                    device_id=None,
                    device_kind=None,
                    signal="silence",
                    # The next report was due one heartbeat after the last one heard; the
                    # replayed reports move this to the measured truth.
                    started_at=last_up + self._heartbeat,
                    evidence={"last_up_at": last_up.isoformat(), "silent_agents": len(members)},
                    signal_vi="mọi máy của xã đều mất liên lạc",
                    signal_en="every agent of the commune is silent",
                ),
                now,
            )
        for member in members:
            self.desk.attach(conn, incident_id, member.id, "silence", member.last_measured_at)
            self._suppress_device_silence(conn, member.id, now)

    def _suppress_device_silence(self, conn: Connection, agent_id: str, now: datetime) -> None:
        row = self.desk.latest(conn, f"device_down:agent:{agent_id}")
        if row is not None and row.active:
            # A device incident raised moments before its whole commune went silent belongs to
            # the site outage: end it where it began so it resolves without a ticket of its own.
            self.desk.end(conn, row.id, row.started_at, now)

    def _end_site_by_silence(
        self, conn: Connection, commune: str, members: list[Any], now: datetime
    ) -> None:
        row = self.desk.latest(conn, f"site_outage:{commune}")
        if row is None or not row.active:
            return
        heard = [m.last_measured_at for m in members if m.last_measured_at > row.started_at]
        # A start confirmed by measured link evidence ends on link evidence too (consume); the
        # sweep only closes it when every agent is back and none said so.
        confirmed = json.loads(row.evidence).get("start_confirmed")
        if not heard or (confirmed and len(heard) < len(members)):
            return
        self.desk.end(conn, row.id, min(heard), now)

    def _device_silent(self, conn: Connection, member: Any, now: datetime) -> None:
        device = conn.execute(
            select(device_state.c.device_id, device_state.c.kind)
            .where(device_state.c.agent_id == member.id, device_state.c.kind == "pc")
            .limit(1)
        ).first()
        device_id = device.device_id if device is not None else member.id
        self.desk.raise_(
            conn,
            Symptom(
                key=f"device_down:agent:{member.id}",
                problem_class="device_down",
                commune_code=member.commune_code,
                device_id=device_id,
                device_kind=device.kind if device is not None else None,
                signal="silence",
                started_at=member.last_measured_at + self._heartbeat,
                evidence={"last_report_at": member.last_measured_at.isoformat()},
                signal_vi="máy không gửi báo cáo trong khi các máy khác của xã vẫn gửi",
                signal_en="no report while the commune's other machines report",
            ),
            now,
        )

    # -- ticket timers ------------------------------------------------------------------------

    def _resolve_held(self, conn: Connection, now: datetime) -> None:
        hold = self.rules.tickets.hold_down
        for row in conn.execute(
            select(tickets.c.id, incidents.c.ended_at, incidents.c.updated_at)
            .join(incidents, incidents.c.id == tickets.c.incident_id)
            .where(tickets.c.state != "resolved", incidents.c.active.is_(False))
        ).all():
            # Hold-down on the collector's clock from when the recovery was seen: replayed
            # reports may place the measured end long ago.
            if now - row.updated_at >= hold:
                conn.execute(
                    update(tickets)
                    .where(tickets.c.id == row.id)
                    .values(state="resolved", resolved_at=now, resolved_by=SYSTEM)
                )
                self.desk.record(conn, row.id, now, SYSTEM, "resolved", "recovered (auto)")

    def _breaches(self, conn: Connection, now: datetime) -> None:
        self._breach(
            conn, now, tickets.c.state == "open", "respond_by", "response_breached", "response"
        )
        self._breach(
            conn,
            now,
            tickets.c.state != "resolved",
            "resolve_by",
            "resolution_breached",
            "resolution",
        )

    def _breach(
        self,
        conn: Connection,
        now: datetime,
        live: ColumnElement[bool],
        deadline: str,
        flag: str,
        sla: str,
    ) -> None:
        """Mark each ``live`` ticket past its ``deadline`` column once (the ``flag`` column) and
        tell its owner's escalation contact that the ``sla`` SLA is breached."""
        for row in conn.execute(
            select(tickets).where(live, tickets.c[flag].is_(False), tickets.c[deadline] < now)
        ).all():
            conn.execute(update(tickets).where(tickets.c.id == row.id).values({flag: True}))
            owner = self.routing.owners.get(row.owner)
            self.desk.record(
                conn,
                row.id,
                now,
                SYSTEM,
                "breached",
                f"{sla} SLA breached",
                extra_owner=owner.escalate_to if owner is not None else None,
                urgent=True,  # never held for a digest: the owner and its escalation act now
            )


def _series(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    inner = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _extend_history(
    history: list[list[Any]], levels: list[tuple[datetime, float]]
) -> list[list[Any]]:
    for at, value in sorted(levels):
        stamp = at.timestamp()
        if history:
            last_stamp, last_value = history[-1]
            if stamp <= last_stamp:
                continue
            if value == last_value and stamp - last_stamp < _HISTORY_SPACING.total_seconds():
                continue
            if value > last_value + 20:
                history = []  # a new cartridge: the old trend says nothing about it
        history.append([stamp, value])
    return history[-_HISTORY_POINTS:]
