"""Many communes silent at once: the collector's own uplink or the provincial backbone failed,
not each commune's link. One ``upstream_outage`` for the province's network owner, the communes
attached as members, instead of one ``site_outage`` per commune to the ISP.

A failure far from the sites silences every commune within about one heartbeat; each commune
crosses the silence limit in turn. So the decision counts the communes *going* silent (no
expected agent heard for ``quiet_factor`` heartbeats) as soon as the first one crosses the limit.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

from sqlalchemy import Connection

from alerts.desk import Desk, Symptom
from alerts.rules import Rules

KEY = "upstream_outage:province"


class UpstreamDetector:
    """Decides, at each sweep, which silent communes belong to an upstream outage."""

    def __init__(self, desk: Desk, rules: Rules) -> None:
        self.desk = desk
        self.rules = rules
        # Members of an upstream outage that ended, and when: they get one silence limit to
        # replay before their own silence is judged.
        self._released: dict[str, datetime] = {}

    def threshold(self, expected_communes: int) -> int:
        """How many communes silent together make an upstream outage."""
        upstream = self.rules.upstream
        share = math.ceil(upstream.share * expected_communes)
        return max(upstream.floor, min(upstream.min_communes, share))

    def decide(
        self,
        conn: Connection,
        now: datetime,
        silent: dict[str, datetime],
        quiet: set[str],
        expected_communes: int,
        limit: timedelta,
    ) -> set[str]:
        """The communes an upstream outage accounts for at ``now`` (raised or kept up here).

        ``silent``: communes past the silence limit, with when their silence began; ``quiet``:
        communes going silent (a subset of which are silent); ``expected_communes``: how many
        communes should be reporting now.
        """
        for commune, until in list(self._released.items()):
            if now > until:
                del self._released[commune]
        claimed = set(self._released) & (set(silent) | quiet)
        row = self.desk.latest(conn, KEY)
        threshold = self.threshold(expected_communes)
        if row is not None and row.active:
            members = set(json.loads(row.evidence).get("communes", []))
            still = members & (set(silent) | quiet)
            if len(still) * 2 < threshold:
                # Most communes are back: the upstream failure is over. The rest replay, or
                # have a fault of their own, judged after one silence limit.
                self.desk.end(conn, row.id, now, now)
                for commune in still:
                    self._released[commune] = now + limit
                return claimed | still
            joined = (set(silent) | quiet) - members
            if joined:
                self._raise(conn, now, silent, members | joined)
            return claimed | members | joined
        going = set(silent) | quiet
        if silent and len(going) >= threshold:
            self._raise(conn, now, silent, going)
            return claimed | going
        return claimed

    def _raise(
        self, conn: Connection, now: datetime, silent: dict[str, datetime], communes: set[str]
    ) -> None:
        self.desk.raise_(
            conn,
            Symptom(
                key=KEY,
                problem_class="upstream_outage",
                commune_code=None,
                device_id=None,
                device_kind=None,
                signal="silence",
                started_at=min(silent.values(), default=now),
                evidence={"communes": sorted(communes), "silent_communes": len(communes)},
                signal_vi="nhiều xã cùng mất liên lạc một lúc: đường truyền của tỉnh hoặc máy chủ",
                signal_en="many communes silent at once: the province's uplink or backbone",
            ),
            now,
        )
