"""Per-device threshold rules (``rules.yaml``): a condition on one sample family held for the
rule's ``for:`` duration, and counter rates between reports.

What a rule needs between batches (when a condition began, the counter points of a rate) is kept
per (rule, device) in ``alert_rule_state``, in the processor's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from alerts.desk import Desk, Symptom
from alerts.observations import Observations
from alerts.rates import evaluate_rates
from alerts.rules import Rules, ThresholdRule
from alerts.schema import rule_state


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
    # Counter points (measured at, series, value) of a ``rate`` rule, from every report.
    points: list[tuple[datetime, str, float]] = field(default_factory=list)


class ThresholdDetector:
    """``device_health``, ``printer_fault`` and the ``device_down`` of devices that stop
    answering (``snmp_up``, ``ping_up``), from the rules in force."""

    def __init__(self, desk: Desk, rules: Rules) -> None:
        self.desk = desk
        self.rules = rules

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """Evaluate every rule on the newest samples of each device in the batch."""
        hits: dict[tuple[str, str, str], _RuleHit] = {}
        for sample in seen.rule_samples:
            rule, at = sample.rule, sample.at
            key = (rule.name, sample.commune_code, sample.device_id)
            hit = hits.get(key)
            series = _series(sample.name, sample.labels)
            if rule.rate:
                # Every report's counters count, older ones too: rates need pairs.
                if hit is None:
                    hit = hits[key] = _RuleHit(
                        rule, sample.commune_code, sample.device_id, sample.kind, at, False, {}
                    )
                hit.at = max(hit.at, at)
                hit.points.append((at, series, sample.value))
                continue
            if hit is None or hit.at < at:
                hit = hits[key] = _RuleHit(
                    rule, sample.commune_code, sample.device_id, sample.kind, at, False, {}
                )
            elif hit.at > at:
                continue
            if rule.matches(sample.value):
                hit.firing = True
                hit.evidence[series] = sample.value
        if hits:
            self._apply_hits(conn, hits, now)

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Nothing: a rule is judged when its device reports."""

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
        self._store(conn, hit, row, pending, history)
        key = f"{rule.problem_class}:{rule.name}:{hit.commune_code}:{hit.device_id}"
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
            self.desk.end_key(conn, key, cleared_at, now)

    @staticmethod
    def _store(
        conn: Connection,
        hit: _RuleHit,
        row: Any,
        pending: datetime | None,
        history: list[list[Any]],
    ) -> None:
        if pending is None and not history and row is None:
            return  # the common case, kept free of statement building: nothing to keep
        where = (
            rule_state.c.rule == hit.rule.name,
            rule_state.c.commune_code == hit.commune_code,
            rule_state.c.device_id == hit.device_id,
        )
        if pending is None and not history:
            conn.execute(delete(rule_state).where(*where))
            return
        values = {"pending_since": pending, "last_at": hit.at, "history": json.dumps(history)}
        if row is None:
            conn.execute(
                rule_state.insert().values(
                    rule=hit.rule.name,
                    commune_code=hit.commune_code,
                    device_id=hit.device_id,
                    **values,
                )
            )
        else:
            conn.execute(update(rule_state).where(*where).values(**values))


def _series(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    inner = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"
