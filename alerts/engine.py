"""The alert engine: a journal consumer plus a scheduled sweep, orchestrating the detectors.

Per processed batch (inside the processor's transaction, so a crash never half-applies a
decision) the reports are read once into observations (:mod:`alerts.observations`) and each
detector consumes them; on a schedule (:meth:`AlertEngine.sweep`, the injected clock) the
detectors judge what time alone decides, then the ticket timers run (hold-down, SLA).

Detectors, in the order they consume:

- :mod:`alerts.detectors.silence`: agents silent while expected (:mod:`alerts.expectation`,
  the working calendar, goodbyes) → ``site_outage`` / ``upstream_outage`` / ``device_down``,
  unless a collector guard holds (:mod:`alerts.guards`);
- :mod:`alerts.detectors.link`: measured link evidence → a site outage's real start and end;
- :mod:`alerts.detectors.thresholds`: per-device rules of ``rules.yaml``;
- :mod:`alerts.detectors.printer_supply`: ``printer_supply_low`` on the printer's own evidence;
- :mod:`alerts.detectors.software`: probes of the central systems → ``software_outage``,
  ``software_slow_site``, ``site_link_degraded``;
- :mod:`alerts.detectors.signing`: the signing chain at the counter and the central systems'
  certificates → ``signing_cert_expiring``, ``token_missing``, ``signing_plugin_down``,
  ``tls_cert_expiring``;
- :mod:`alerts.detectors.windows`: maintenance windows and silences over time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Connection, Engine

from agent.clock import Clock
from alerts.calendar import WorkingCalendar, load_calendar
from alerts.desk import Desk
from alerts.detectors import Detector
from alerts.detectors.link import LinkDetector
from alerts.detectors.printer_supply import PrinterSupplyDetector
from alerts.detectors.signing import SigningDetector
from alerts.detectors.silence import SilenceDetector
from alerts.detectors.software import SoftwareDetector
from alerts.detectors.thresholds import ThresholdDetector
from alerts.detectors.windows import WindowDetector
from alerts.expectation import Expectation
from alerts.guards import CollectorProbes, Guards
from alerts.observations import ObservationReader
from alerts.routing import Routing
from alerts.rules import Rules
from alerts.systems import SystemMap, load_systems
from collector.processor import StoredReport

log = logging.getLogger(__name__)


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
        calendar: WorkingCalendar | None = None,
        probes: CollectorProbes | None = None,
    ) -> None:
        """``probes`` (how far behind the collector is) turn the collector guards on; without
        them (unit tests driving the clock) silence is judged at every sweep."""
        self._engine = engine
        self.rules = rules
        self.routing = routing
        self._clock = clock
        self.calendar = calendar if calendar is not None else load_calendar()
        self.desk = Desk(rules, routing, public_url, self.calendar)
        self.systems = systems if systems is not None else load_systems()
        self._reader = ObservationReader(rules, self.systems)
        heartbeat = timedelta(seconds=heartbeat_seconds)
        limit = heartbeat * rules.silence.heartbeat_factor
        self.expectation = Expectation(self.calendar, heartbeat, limit)
        self.guards = Guards(rules, clock.now(), limit, probes) if probes is not None else None
        self.silence = SilenceDetector(self.desk, rules, self.expectation, self.guards)
        self.detectors: tuple[Detector, ...] = (
            self.silence,
            LinkDetector(self.desk, limit),
            ThresholdDetector(self.desk, rules),
            PrinterSupplyDetector(self.desk, rules),
            SoftwareDetector(self.desk, rules, self.systems, self.calendar),
            SigningDetector(self.desk, rules, self.calendar),
            WindowDetector(self.desk),
        )
        self.evaluated_reports = 0

    def consume(self, conn: Connection, reports: Sequence[StoredReport]) -> None:
        """Evaluate a batch of processed reports (called inside the processor's transaction)."""
        now = self._clock.now()
        seen = self._reader.read(reports)
        self.evaluated_reports += len(reports)
        for detector in self.detectors:
            detector.consume(conn, seen, now)

    def sweep(self) -> None:
        """What the clock alone decides: silences, then hold-down resolution and SLA breaches."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            for detector in self.detectors:
                detector.sweep(conn, now)
            self.desk.lifecycle.resolve_held(conn, now)
            self.desk.lifecycle.breach_deadlines(conn, now)
            self.desk.lifecycle.flush_digests(conn, now)
