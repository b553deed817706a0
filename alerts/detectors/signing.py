"""The signing chain at the counter (issue 23): what stops a clerk from signing a result.

From the agent's ``signing`` and ``tokens`` checks and the HTTP probe's certificate expiry:

- ``signing_cert_expiring``: a certificate on a USB token expires within ``signing.cert_days``;
  one ticket per certificate (its serial) for the commune, naming the holder; ended when it is
  renewed or replaced (:mod:`alerts.detectors.certificates`);
- ``token_missing``: no token on a signing PC (one where a token was seen within
  ``token_memory``) for ``token_absent_for`` of *opening* time: clerks take their tokens home;
- ``signing_plugin_down``: a signing bridge that answered ready on this PC before is not ready
  for ``plugin_down_for``; the ticket quotes the bridge's own words (its answer, or why no port
  answered);
- ``tls_cert_expiring``: a central system's TLS certificate (``probe_tls_cert_expiry_days``)
  expires within ``tls_cert_days``; one ticket per system and probe target, for its vendor
  (:mod:`alerts.detectors.certificates`).

What a PC's bridges and tokens were doing between reports is kept per PC in
``alert_rule_state`` (rule ``signing:pc``), written only when it changes in substance: the
signing check reports every minute on every counter PC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from agent.vntime import format_local
from alerts.calendar import WorkingCalendar
from alerts.desk import Desk, Symptom
from alerts.detectors.certificates import Certificates
from alerts.observations import Observations, PluginReading, TokenReading
from alerts.rules import Rules
from alerts.schema import rule_state

PC_STATE = "signing:pc"
# The bridges of DOMAIN.md §3.2 by the agent's plugin label; another label is shown as is.
PLUGIN_NAMES = {"vnpt_ca": "VNPT-CA Plugin", "vgca": "VGCA Sign Service"}
# A time the state keeps only to know whether something was seen recently (a token, a bridge
# ready) is rewritten when it moved by more than this: not at every report of every PC.
_REFRESH_SECONDS = 3600.0
_Pc = tuple[str, str]  # (commune code, device id)


def _stamp(at: datetime) -> float:
    return at.timestamp()


def _at(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


@dataclass(slots=True)
class _PcState:
    """What one PC's tokens and bridges were doing, as last judged."""

    token_at: float | None = None  # the newest token reading judged
    token_seen: float | None = None  # the last time a token was present
    absent_since: float | None = None
    # plugin -> {"at": newest reading, "up": last ready, "down_since": not ready since}
    plugins: dict[str, dict[str, float | None]] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str) -> _PcState:
        data: dict[str, Any] = json.loads(text) if text else {}
        if not isinstance(data, dict):
            return cls()
        return cls(
            data.get("token_at"),
            data.get("token_seen"),
            data.get("absent_since"),
            dict(data.get("plugins") or {}),
            dict(data.get("words") or {}),
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "token_at": self.token_at,
                "token_seen": self.token_seen,
                "absent_since": self.absent_since,
                "plugins": self.plugins,
                "words": self.words,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    def substance(self) -> tuple[Any, ...]:
        """The state without what only moves forward at every report (rounded to the hour)."""

        def coarse(stamp: float | None) -> float | None:
            return None if stamp is None else stamp // _REFRESH_SECONDS

        plugins = tuple(
            (name, coarse(slot.get("up")), slot.get("down_since"))
            for name, slot in sorted(self.plugins.items())
        )
        return (
            coarse(self.token_seen),
            self.absent_since,
            plugins,
            tuple(sorted(self.words.items())),
        )


class SigningDetector:
    """``signing_cert_expiring``, ``token_missing``, ``signing_plugin_down`` and
    ``tls_cert_expiring`` from the signing and tokens checks and the probes."""

    def __init__(self, desk: Desk, rules: Rules, calendar: WorkingCalendar) -> None:
        self.desk = desk
        self.rules = rules
        self.calendar = calendar
        self.certificates = Certificates(desk, rules)

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """Judge the batch's bridges, tokens, certificates and central TLS certificates."""
        if seen.plugins or seen.tokens:
            self._pcs(conn, seen.plugins, seen.tokens, now)
        if seen.tokens:
            self.certificates.tokens(conn, seen.tokens, now)
        if seen.tls_certs:
            self.certificates.tls(conn, seen.tls_certs, now)

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Nothing: the chain is judged when a PC reports (a PC off is silence's business)."""

    # -- tokens and bridges, per PC -------------------------------------------------------------

    def _pcs(
        self,
        conn: Connection,
        plugins: list[PluginReading],
        tokens: list[TokenReading],
        now: datetime,
    ) -> None:
        by_pc: dict[_Pc, tuple[list[PluginReading], list[TokenReading]]] = {}
        for plugin in plugins:
            by_pc.setdefault((plugin.commune_code, plugin.device_id), ([], []))[0].append(plugin)
        for token in tokens:
            by_pc.setdefault((token.commune_code, token.device_id), ([], []))[1].append(token)
        stored = {
            (row.commune_code, row.device_id): row
            for row in conn.execute(
                select(rule_state).where(
                    rule_state.c.rule == PC_STATE,
                    rule_state.c.device_id.in_({device for _, device in by_pc}),
                )
            )
        }
        for pc, (pc_plugins, pc_tokens) in by_pc.items():
            row = stored.get(pc)
            state = _PcState.load(row.history) if row is not None else _PcState()
            before = state.substance() if row is not None else None
            self._judge_token(conn, pc, state, pc_tokens, now)
            self._judge_plugins(conn, pc, state, pc_plugins, now)
            if state.substance() == before:
                continue
            last = max([r.at for r in pc_plugins] + [r.at for r in pc_tokens])
            values = {"last_at": last, "history": state.dump()}
            if row is None:
                conn.execute(
                    rule_state.insert().values(
                        rule=PC_STATE, commune_code=pc[0], device_id=pc[1], **values
                    )
                )
            else:
                conn.execute(
                    update(rule_state)
                    .where(
                        rule_state.c.rule == PC_STATE,
                        rule_state.c.commune_code == pc[0],
                        rule_state.c.device_id == pc[1],
                    )
                    .values(**values)
                )

    def _judge_token(
        self,
        conn: Connection,
        pc: _Pc,
        state: _PcState,
        readings: list[TokenReading],
        now: datetime,
    ) -> None:
        rules = self.rules.signing
        memory = rules.token_memory.total_seconds()
        recovered: datetime | None = None
        last: TokenReading | None = None
        for reading in sorted(readings, key=lambda r: r.at):
            stamp = _stamp(reading.at)
            # Without python-pkcs11 nothing is known; an older replayed report is stale.
            if not reading.available or (state.token_at is not None and stamp < state.token_at):
                continue
            state.token_at, last = stamp, reading
            signing_pc = state.token_seen is not None and stamp - state.token_seen <= memory
            if reading.present or not signing_pc:
                # Back, or the PC is no longer one where anybody signs: the absence is over.
                if state.absent_since is not None and recovered is None:
                    recovered = reading.at
                state.absent_since = None
                if reading.present:
                    state.token_seen = stamp
            elif state.absent_since is None:
                state.absent_since = stamp
        key = f"token_missing:{pc[0]}:{pc[1]}"
        if recovered is not None:
            self.desk.end_key(conn, key, recovered, now)
        if last is None or state.absent_since is None:
            return
        since = _at(state.absent_since)
        # Only opening time counts: a token taken home at night is where it should be.
        if not self.calendar.is_open(pc[0], last.at):
            return
        if self.calendar.working_time(pc[0], since, last.at) < rules.token_absent_for:
            return
        evidence: dict[str, Any] = {
            "token": "none plugged in",
            "absent since": format_local(since),
            "PKCS#11 modules found": last.modules_found if last.modules_found is not None else "?",
        }
        if state.token_seen is not None:
            evidence["token last seen"] = format_local(_at(state.token_seen))
        if last.errors:
            evidence["module errors"] = "; ".join(last.errors)
        self.desk.raise_(
            conn,
            Symptom(
                key=key,
                problem_class="token_missing",
                commune_code=pc[0],
                device_id=pc[1],
                device_kind="pc",
                signal="token_present",
                started_at=since,
                evidence=evidence,
                signal_vi="không có USB token ký số trên máy ký trong giờ làm việc: "
                "cán bộ không ký số được",
                signal_en="no signing USB token on this signing PC in opening hours: "
                "the clerk cannot sign",
            ),
            now,
        )

    def _judge_plugins(
        self,
        conn: Connection,
        pc: _Pc,
        state: _PcState,
        readings: list[PluginReading],
        now: datetime,
    ) -> None:
        by_plugin: dict[str, list[PluginReading]] = {}
        for reading in readings:
            by_plugin.setdefault(reading.plugin, []).append(reading)
        for plugin, found in sorted(by_plugin.items()):
            slot = state.plugins.setdefault(plugin, {})
            last, recovered = self._plugin_steps(state, plugin, slot, found)
            key = f"signing_plugin_down:{pc[0]}:{pc[1]}:{plugin}"
            if recovered is not None:
                self.desk.end_key(conn, key, recovered, now)
            down_since = slot.get("down_since")
            if last is None or down_since is None:
                continue
            if last.at - _at(down_since) < self.rules.signing.plugin_down_for:
                continue
            self.desk.raise_(conn, self._plugin_symptom(pc, plugin, last, state, down_since), now)

    def _plugin_steps(
        self,
        state: _PcState,
        plugin: str,
        slot: dict[str, float | None],
        readings: list[PluginReading],
    ) -> tuple[PluginReading | None, datetime | None]:
        """Walk one bridge's readings in time order: (the newest judged, when it recovered)."""
        memory = self.rules.signing.plugin_memory.total_seconds()
        last: PluginReading | None = None
        recovered: datetime | None = None
        for reading in sorted(readings, key=lambda r: r.at):
            stamp = _stamp(reading.at)
            newest = slot.get("at")
            if newest is not None and stamp < newest:
                continue  # an older replayed report
            slot["at"], last = stamp, reading
            up = slot.get("up")
            used_here = up is not None and stamp - up <= memory
            if reading.up or not used_here:
                if slot.get("down_since") is not None and recovered is None:
                    recovered = reading.at
                slot["down_since"] = None
                state.words.pop(plugin, None)
                if reading.up:
                    slot["up"] = stamp
            else:
                if slot.get("down_since") is None:
                    slot["down_since"] = stamp
                state.words[plugin] = reading.words or (
                    "answered, not ready" if reading.answered else "no port answered"
                )
        return last, recovered

    @staticmethod
    def _plugin_symptom(
        pc: _Pc, plugin: str, last: PluginReading, state: _PcState, down_since: float
    ) -> Symptom:
        name = PLUGIN_NAMES.get(plugin, plugin)
        words = state.words.get(plugin, "")
        evidence: dict[str, Any] = {
            "plugin": name,
            "plugin's own words": words,
            "not ready since": format_local(_at(down_since)),
        }
        if last.port:
            evidence["port"] = last.port
        return Symptom(
            key=f"signing_plugin_down:{pc[0]}:{pc[1]}:{plugin}",
            problem_class="signing_plugin_down",
            commune_code=pc[0],
            device_id=pc[1],
            device_kind="pc",
            signal=f"signing_plugin_up plugin={plugin}"[:100],
            started_at=_at(down_since),
            evidence=evidence,
            signal_vi=f"{name} không sẵn sàng, không ký số được; phần mềm báo: {words}",
            signal_en=f"{name} is not ready, signing fails; it says: {words}",
        )
