"""Printer supplies worth a ticket: ``printer_supply_low`` only on the printer's own evidence.

A supply is low when the printer says so: a measured level under ``low_percent`` (or empty), its
error-state bits (low or no toner, a missing supply) or a vendor's own near-end state; or when
the level measured since the last refill falls on a line that reaches empty within
``forecast_days``. A level the agent could not read as a percentage (0 against an unknown
maximum, "some remaining": ``printer_supply_state``'s reason says why) is not evidence on its
own. Days to empty is 0 for an empty supply. The level history keeps one point per
``history_spacing`` over ``history_span``, so a cartridge that moves in small steps still gets
a trend over days.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from alerts.desk import Desk, Symptom
from alerts.forecast import days_to_empty
from alerts.observations import Observations, PrinterReading, SupplyReading
from alerts.rules import Rules
from alerts.schema import rule_state

# Reasons (agent/checks/snmp/supplies.py) whose state is the printer's own measurement or word.
OWN_REASONS = frozenset({"measured", "vendor_near_end"})
# A refill: the level jumps up by more than this many points.
REFILL_JUMP = 20.0
_STATE_PREFIX = "supply:"
_UPDATE_STATE = (
    update(rule_state)
    .where(
        rule_state.c.rule == bindparam("b_rule"),
        rule_state.c.commune_code == bindparam("b_commune"),
        rule_state.c.device_id == bindparam("b_device"),
    )
    .values(
        pending_since=bindparam("pending_since"),
        last_at=bindparam("last_at"),
        history=bindparam("history"),
    )
)


class PrinterSupplyDetector:
    """``printer_supply_low`` per supply from levels, states, alarms and trends."""

    def __init__(self, desk: Desk, rules: Rules) -> None:
        self.desk = desk
        self.rules = rules

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """Judge the newest reading of each printer supply in the batch."""
        newest: dict[tuple[str, str], PrinterReading] = {}
        history: dict[tuple[str, str, str], list[tuple[datetime, float]]] = {}
        for reading in seen.printers:
            key = (reading.commune_code, reading.device_id)
            if key not in newest or newest[key].at <= reading.at:
                newest[key] = reading
            for supply, level in reading.supplies.items():
                if level.level is not None and level.reason in ("", "measured"):
                    history.setdefault((*key, supply), []).append((reading.at, level.level))
        if not newest:
            return
        devices = {device_id for _, device_id in newest}
        updates: list[dict[str, Any]] = []
        stored = {
            (row.rule, row.commune_code, row.device_id): row
            for row in conn.execute(
                select(rule_state).where(
                    rule_state.c.device_id.in_(devices),
                    rule_state.c.rule.startswith(_STATE_PREFIX, autoescape=True),
                )
            )
        }
        for (commune, device_id), reading in newest.items():
            supplies = reading.supplies or {"": SupplyReading({})}
            for supply, level in supplies.items():
                points = history.get((commune, device_id, supply), [])
                row = stored.get((_STATE_PREFIX + supply, commune, device_id))
                self._judge(conn, reading, supply, level, points, row, updates, now)
        if updates:
            # One statement for every supply's kept state: a site agent reports each printer
            # at every poll, and per-row statements were a fifth of the processor's time.
            conn.execute(_UPDATE_STATE, updates)

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Nothing: a supply is judged when its printer reports."""

    def _judge(
        self,
        conn: Connection,
        reading: PrinterReading,
        supply: str,
        level: SupplyReading,
        points: list[tuple[datetime, float]],
        row: Any,
        updates: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        if row is not None and reading.at < row.last_at:
            return  # an older replayed report: the stored state is newer
        history: list[list[float]] = json.loads(row.history) if row is not None else []
        history = self._extend(history, points)
        evidence = self._evidence(reading, level, history)
        firing = bool(evidence)
        pending = (row.pending_since if row is not None else None) or reading.at
        values = {
            "pending_since": pending if firing else None,
            "last_at": reading.at,
            "history": json.dumps(history),
        }
        if row is None:
            conn.execute(
                rule_state.insert().values(
                    rule=_STATE_PREFIX + supply,
                    commune_code=reading.commune_code,
                    device_id=reading.device_id,
                    **values,
                )
            )
        elif not firing and not history:
            conn.execute(
                delete(rule_state).where(
                    rule_state.c.rule == _STATE_PREFIX + supply,
                    rule_state.c.commune_code == reading.commune_code,
                    rule_state.c.device_id == reading.device_id,
                )
            )
        else:
            updates.append(
                {
                    "b_rule": _STATE_PREFIX + supply,
                    "b_commune": reading.commune_code,
                    "b_device": reading.device_id,
                    **values,
                }
            )
        key = f"printer_supply_low:{reading.commune_code}:{reading.device_id}:{supply}"
        if firing:
            name = level.labels.get("description") or level.labels.get("type") or "supply"
            self.desk.raise_(
                conn,
                Symptom(
                    key=key,
                    problem_class="printer_supply_low",
                    commune_code=reading.commune_code,
                    device_id=reading.device_id,
                    device_kind=reading.kind,
                    signal=f"supply {supply}: {name}"[:100],
                    started_at=pending,
                    evidence=evidence,
                    signal_vi="mực/vật tư máy in sắp hết (máy in báo)",
                    signal_en="printer supply running low (the printer says so)",
                ),
                now,
            )
        elif row is not None and row.pending_since is not None:
            self.desk.end_key(conn, key, reading.at, now)

    def _evidence(
        self, reading: PrinterReading, level: SupplyReading, history: list[list[float]]
    ) -> dict[str, Any]:
        """What the printer itself says about the supply being low; empty if nothing."""
        rules = self.rules.printer
        measured = level.level is not None and level.reason in ("", "measured")
        own_state = level.state in ("low", "empty") and level.reason in OWN_REASONS
        measured_low = measured and level.level is not None and level.level < rules.low_percent
        empty = (measured and level.level is not None and level.level <= 0) or (
            own_state and level.state == "empty"
        )
        days = 0.0 if empty else self._days_to_empty(history)
        trend = days is not None and days <= rules.forecast_days
        if not (reading.alarms or own_state or measured_low or trend):
            return {}
        found: dict[str, Any] = {}
        if reading.alarms:
            found["printer alarm"] = ", ".join(sorted(reading.alarms))
        if own_state:
            found["supply state"] = f"{level.state} ({level.reason})"
        elif level.state and level.state != "ok":
            # Said but not measured (a quirk): shown, so the technician sees the whole picture.
            found["supply state (not measured)"] = f"{level.state} ({level.reason})"
        if measured and level.level is not None:
            found["level percent"] = round(level.level, 1)
        if days is not None:
            found["forecast_empty_days"] = round(days, 1)
        return found

    def _days_to_empty(self, history: list[list[float]]) -> float | None:
        rules = self.rules.printer
        return days_to_empty(
            history, min_points=rules.forecast_min_points, min_span=rules.forecast_min_span
        )

    def _extend(
        self, history: list[list[float]], points: list[tuple[datetime, float]]
    ) -> list[list[float]]:
        """The level history with ``points``: one point per spacing since the last refill,
        over the span (a cartridge moving in small steps keeps days of points, not hours)."""
        rules = self.rules.printer
        spacing = rules.history_spacing.total_seconds()
        for at, value in sorted(points):
            stamp = at.timestamp()
            if history:
                last_stamp, last_value = history[-1]
                if stamp <= last_stamp:
                    continue
                if value > last_value + REFILL_JUMP:
                    history = []  # a new cartridge: the old trend says nothing about it
                elif stamp - last_stamp < spacing:
                    continue
            history.append([stamp, value])
        if history:
            cutoff = history[-1][0] - rules.history_span.total_seconds()
            history = [point for point in history if point[0] >= cutoff]
        return history
