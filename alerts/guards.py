"""Collector guards: moments when silence says more about the collector than about the sites.

As Zabbix does not fire ``nodata()`` triggers while a proxy is unavailable or just after the
server starts, silence is not judged while the collector has just started (agents resend what
they spooled while it was away), while the journal's processing is behind (goodbyes and replayed
reports are stored but not yet known) or while its own ingest is stalled. Each guard is visible
on ``/metrics`` (``cm_alert_guard_active``) and in the console.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.rules import Rules

log = logging.getLogger(__name__)

GUARDS = ("startup", "processing_lag", "ingest_stall")
# Seconds the collector is behind (0: not behind); a probe that fails says nothing.
LagProbe = Callable[[datetime], float]


@dataclass
class CollectorProbes:
    """How far behind the collector is, from the parts of the process that know it."""

    processing_lag: LagProbe | None = None
    ingest_stall: LagProbe | None = None


@dataclass
class Guards:
    """Which guards hold at an instant; remembers the last answer for ``/metrics``."""

    rules: Rules
    started_at: datetime
    silence_limit: timedelta
    probes: CollectorProbes = field(default_factory=CollectorProbes)
    active: dict[str, str] = field(default_factory=dict)
    engaged_total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GUARDS, 0))

    def check(self, now: datetime) -> dict[str, str]:
        """The guards holding at ``now``, each with why; silence is judged only if none does."""
        bounds = self.rules.guards
        found: dict[str, str] = {}
        startup = max(bounds.startup, self.silence_limit)
        if now - self.started_at < startup:
            found["startup"] = f"collector started at {self.started_at.isoformat()}"
        for name, probe, bound in (
            ("processing_lag", self.probes.processing_lag, bounds.processing_lag),
            ("ingest_stall", self.probes.ingest_stall, bounds.ingest_stall),
        ):
            if probe is None:
                continue
            try:
                seconds = probe(now)
            except Exception:  # a failing probe (a store hiccup) must not stop the sweep
                log.exception("collector guard probe failed", extra={"guard": name})
                continue
            if seconds > bound.total_seconds():
                found[name] = f"{seconds:.0f} s behind (bound {bound.total_seconds():.0f} s)"
        for name in found.keys() - self.active.keys():
            self.engaged_total[name] += 1
            log.warning("silence not judged: the collector is behind", extra={"guard": name})
        for name in self.active.keys() - found.keys():
            log.info("collector guard lifted", extra={"guard": name})
        self.active = found
        return found
