"""Agents that stopped reporting, judged on the collector's clock against what was expected.

Per commune, each agent is reporting, off (not expected now, or switched off with a goodbye:
:mod:`alerts.expectation`) or silent while expected. A commune with no agent reporting and at
least one silent is cut: one ``site_outage`` for its link's owner, the agents attached as
suppressed members, unless many communes go silent together (:mod:`alerts.detectors.upstream`).
A commune whose agents are all off is closed, not down. One agent silent while its neighbours
report is that device's ``device_down`` ("did not start" when it never came up in the session);
all its counter PCs silent while the site agent reports is one ``device_down`` for the commune.
Nothing is judged while a collector guard holds (:mod:`alerts.guards`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from alerts.desk import Desk, Symptom
from alerts.detectors.upstream import UpstreamDetector
from alerts.expectation import AgentState, Expectation, Judgement, Verdict, load_states
from alerts.guards import Guards
from alerts.observations import Observations
from alerts.rules import Rules
from alerts.schema import alerts as members
from alerts.schema import incidents
from collector.schema import device_state


class SilenceDetector:
    """``site_outage``, ``upstream_outage`` and ``device_down`` from silence."""

    def __init__(
        self,
        desk: Desk,
        rules: Rules,
        expectation: Expectation,
        guards: Guards | None = None,
    ) -> None:
        self.desk = desk
        self.rules = rules
        self.expectation = expectation
        self.heartbeat = expectation.heartbeat
        self.guards = guards
        self.upstream = UpstreamDetector(desk, rules)

    @property
    def limit(self) -> timedelta:
        """How long an agent may stay silent before it counts as silent."""
        return self.expectation.limit

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """End each silence incident at the first report its agents measured since."""
        if not seen.first_report:
            return
        for row in conn.execute(
            select(incidents.c.id, incidents.c.key, incidents.c.started_at).where(
                incidents.c.active.is_(True),
                incidents.c.problem_class == "device_down",
                incidents.c.signal.in_(("silence", "not_started")),
            )
        ).all():
            if row.key.startswith("device_down:pcs:"):
                heard = [
                    at
                    for agent_id in self._member_agents(conn, row.id)
                    if (at := seen.first_report.get(agent_id)) is not None
                ]
                at = min(heard) if heard else None
            else:
                at = seen.first_report.get(row.key.rsplit(":", 1)[-1])
            if at is not None and at >= row.started_at:
                self.desk.end(conn, row.id, at, now)

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Judge every commune's agents at ``now`` (unless a collector guard holds)."""
        if self.guards is not None and self.guards.check(now):
            return
        by_commune: dict[str, list[Judgement]] = defaultdict(list)
        for agent in load_states(conn):
            by_commune[agent.commune_code].append(self.expectation.judge(agent, now))
        silent: dict[str, datetime] = {}
        quiet: set[str] = set()
        expected = 0
        for commune, judged in by_commune.items():
            live = [j for j in judged if j.verdict is not Verdict.OFF]
            if not live:
                continue  # closed (everyone off): nothing to expect
            expected += 1
            if all(j.verdict is Verdict.SILENT for j in live):
                last_up = max(j.agent.last_measured_at for j in judged)
                silent[commune] = last_up + self.heartbeat
            elif all(
                now - j.agent.last_measured_at > self.heartbeat * self.rules.upstream.quiet_factor
                for j in live
            ):
                quiet.add(commune)
        # The newest site outage of every commune, read once: most sweeps change none.
        sites = self.desk.latest_many(conn, [f"site_outage:{c}" for c in by_commune])
        outage_free = {c for c in silent if not _active(sites.get(f"site_outage:{c}"))}
        claimed = self.upstream.decide(
            conn,
            now,
            {c: silent[c] for c in outage_free},
            quiet - set(silent),
            expected,
            self.limit,
        )
        for commune, judged in by_commune.items():
            if commune in claimed:
                continue
            if commune in silent:
                self._site_outage(conn, commune, judged, now)
            else:
                self._end_site(conn, sites.get(f"site_outage:{commune}"), judged, now)
                self._devices(conn, commune, judged, now)

    def _site_outage(
        self, conn: Connection, commune: str, judged: list[Judgement], now: datetime
    ) -> None:
        members = [j.agent for j in judged]
        last_up = max(agent.last_measured_at for agent in members)
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
                    started_at=last_up + self.heartbeat,
                    evidence={
                        "last_up_at": last_up.isoformat(),
                        "silent_agents": sum(j.verdict is Verdict.SILENT for j in judged),
                        "expected_up": sorted(
                            j.agent.id for j in judged if j.verdict is Verdict.SILENT
                        ),
                    },
                    signal_vi="mọi máy của xã đều mất liên lạc",
                    signal_en="every agent of the commune is silent",
                ),
                now,
            )
        for agent in members:
            self.desk.attach(conn, incident_id, agent.id, "silence", agent.last_measured_at)
            self._suppress_device_silence(conn, agent.id, now)

    def _suppress_device_silence(self, conn: Connection, agent_id: str, now: datetime) -> None:
        row = self.desk.latest(conn, f"device_down:agent:{agent_id}")
        if row is not None and row.active:
            # A device incident raised moments before its whole commune went silent belongs to
            # the site outage: end it where it began so it resolves without a ticket of its own.
            self.desk.end(conn, row.id, row.started_at, now)

    def _end_site(self, conn: Connection, row: Any, judged: list[Judgement], now: datetime) -> None:
        if not _active(row):
            return
        if any(j.verdict is Verdict.SILENT for j in judged):
            return
        heard = [
            j.agent.last_measured_at for j in judged if j.agent.last_measured_at > row.started_at
        ]
        expected = [j for j in judged if j.verdict is not Verdict.OFF]
        # A start confirmed by measured link evidence ends on link evidence too (consume); the
        # sweep only closes it when every agent expected is back and none said so.
        confirmed = json.loads(row.evidence).get("start_confirmed")
        if not heard or (confirmed and len(heard) < len(expected)):
            return
        self.desk.end(conn, row.id, min(heard), now)

    def _devices(
        self, conn: Connection, commune: str, judged: list[Judgement], now: datetime
    ) -> None:
        """Silent agents while a neighbour reports: their own ``device_down``."""
        reporting = [j for j in judged if j.verdict is Verdict.REPORTING]
        silent = [j for j in judged if j.verdict is Verdict.SILENT]
        if not reporting or not silent:
            return
        newest = max(j.agent.last_measured_at for j in reporting)
        # Silent "while its neighbours report": a neighbour measured after this agent should
        # have reported again, so the site itself is up.
        silent = [j for j in silent if newest - j.agent.last_measured_at > self.limit]
        pcs = [j for j in judged if not j.agent.always_on]
        if len(pcs) >= 2 and len(silent) == len(pcs) and all(j in pcs for j in silent):
            self._counters_down(conn, commune, silent, now)
            return
        for judgement in silent:
            self._device_silent(conn, judgement, now)

    def _counters_down(
        self, conn: Connection, commune: str, silent: list[Judgement], now: datetime
    ) -> None:
        """Every counter PC silent while the site agent reports: one incident, not one each."""
        for judgement in silent:
            row = self.desk.latest(conn, f"device_down:agent:{judgement.agent.id}")
            if row is not None and row.active:
                self.desk.end(conn, row.id, row.started_at, now)
        since = min(j.since or now for j in silent)
        not_started = all(j.not_started for j in silent)
        incident_id = self.desk.raise_(
            conn,
            Symptom(
                key=f"device_down:pcs:{commune}",
                problem_class="device_down",
                commune_code=commune,
                device_id=None,
                device_kind="pc",
                signal="not_started" if not_started else "silence",
                started_at=since,
                evidence={"silent_pcs": sorted(j.agent.id for j in silent)},
                signal_vi="không máy tính quầy nào của xã hoạt động (mạng của xã vẫn thông)",
                signal_en="no counter PC of the commune works (its network is up)",
            ),
            now,
        )
        for judgement in silent:
            self.desk.attach(
                conn, incident_id, judgement.agent.id, "silence", judgement.agent.last_measured_at
            )

    def _device_silent(self, conn: Connection, judgement: Judgement, now: datetime) -> None:
        agent: AgentState = judgement.agent
        device = conn.execute(
            select(device_state.c.device_id, device_state.c.kind)
            .where(device_state.c.agent_id == agent.id, device_state.c.kind == "pc")
            .limit(1)
        ).first()
        device_id = device.device_id if device is not None else agent.id
        if judgement.not_started:
            signal, vi, en = (
                "not_started",
                "máy tính quầy không khởi động trong giờ làm việc",
                "the counter PC did not start during opening hours",
            )
        else:
            signal, vi, en = (
                "silence",
                "máy không gửi báo cáo trong khi các máy khác của xã vẫn gửi",
                "no report while the commune's other machines report",
            )
        evidence: dict[str, Any] = {"last_report_at": agent.last_measured_at.isoformat()}
        if agent.said_goodbye:
            evidence["goodbye"] = agent.goodbye_reason or "goodbye"
        self.desk.raise_(
            conn,
            Symptom(
                key=f"device_down:agent:{agent.id}",
                problem_class="device_down",
                commune_code=agent.commune_code,
                device_id=device_id,
                device_kind=device.kind if device is not None else None,
                signal=signal,
                started_at=judgement.since or agent.last_measured_at + self.heartbeat,
                evidence=evidence,
                signal_vi=vi,
                signal_en=en,
            ),
            now,
        )

    @staticmethod
    def _member_agents(conn: Connection, incident_id: int) -> list[str]:
        return list(
            conn.execute(
                select(members.c.subject).where(members.c.incident_id == incident_id)
            ).scalars()
        )


def _active(row: Any) -> bool:
    """Whether ``row`` (an incident or None) is active."""
    return row is not None and bool(row.active)
