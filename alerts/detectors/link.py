"""A commune's link from measured evidence: its router's WAN interface, and PCs that reach no
central system. Replayed reports (a cut commune's agents measured all along) fix a site
outage's real start and end; :mod:`alerts.detectors.silence` raises it from silence alone.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from alerts import incidents
from alerts.desk import Desk, Symptom
from alerts.detectors.upstream import KEY as UPSTREAM_KEY
from alerts.observations import LinkPoint, Observations


class LinkDetector:
    """``site_outage`` started, ended and corrected by link evidence."""

    def __init__(self, desk: Desk, margin: timedelta) -> None:
        self.desk = desk
        # An upstream outage's start is its communes' first missed report: their own evidence
        # of the failure can be up to a silence limit older.
        self.margin = margin

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """Apply each commune's link evidence in measured order."""
        if not seen.link:
            return
        known = self.desk.latest_many(conn, [f"site_outage:{commune}" for commune in seen.link])
        for commune, points in seen.link.items():
            row = known.get(f"site_outage:{commune}")
            if row is None and not any(point.down for point in points):
                continue  # the usual report: the line is up and never was down
            self._commune(conn, commune, row, sorted(points, key=lambda p: p.at), now)

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Nothing: link evidence arrives with reports."""

    def _commune(
        self, conn: Connection, commune: str, row: Any, points: list[LinkPoint], now: datetime
    ) -> None:
        key = f"site_outage:{commune}"
        for point in points:
            if point.down:
                row = self._down(conn, commune, row, point, now)
            elif row is not None and row.active and point.at > row.started_at:
                self.desk.end(conn, row.id, point.at, now)
                row = self.desk.latest(conn, key)
            elif (
                row is not None
                and not row.active
                and row.ended_at is not None
                and row.started_at < point.at < row.ended_at
            ):
                # Replayed "up" evidence inside the recorded outage: it ended earlier.
                self.desk.move_end(conn, row.id, point.at)
                row = self.desk.latest(conn, key)

    def _down(
        self, conn: Connection, commune: str, row: Any, point: LinkPoint, now: datetime
    ) -> Any:
        key = f"site_outage:{commune}"
        at = point.at
        if _upstream_covers(conn, commune, at, self.margin):
            return row  # the province's uplink or backbone was down: not this commune's link
        if row is not None:
            facts = json.loads(row.evidence)
            last_up = _parse_time(facts.get("last_up_at"))
            if row.active and (last_up is None or at > last_up):
                if not facts.get("start_confirmed") or at < row.started_at:
                    facts["start_confirmed"] = True
                    facts["link"] = point.evidence
                    incidents.update_values(
                        conn, row.id, evidence=json.dumps(facts, ensure_ascii=False)
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
                evidence={"link": point.evidence, "start_confirmed": True},
                signal_vi="đường truyền của xã bị mất",
                signal_en="the commune's link is down",
            ),
            now,
        )
        return self.desk.latest(conn, key)


def _upstream_covers(conn: Connection, commune: str, at: datetime, margin: timedelta) -> bool:
    """Whether an upstream outage with ``commune`` among its members spans ``at``."""
    row = incidents.latest(conn, UPSTREAM_KEY)
    if row is None or row.started_at - margin > at:
        return False
    if row.ended_at is not None and at > row.ended_at:
        return False
    return commune in json.loads(row.evidence).get("communes", [])


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
