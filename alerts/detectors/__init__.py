"""The alert engine's detectors: each finds one kind of root cause, in its own module.

A detector reads the observations of each processed batch (:meth:`Detector.consume`, inside the
processor's transaction) and/or looks at the state on the collector's clock
(:meth:`Detector.sweep`), and raises or ends incidents through the :class:`alerts.desk.Desk`.
To add one: a module here with a class following :class:`Detector`, built and ordered in
:class:`alerts.engine.AlertEngine` (see docs/architecture.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from alerts.observations import Observations


class Detector(Protocol):
    """One kind of root cause."""

    def consume(self, conn: Connection, seen: Observations, now: datetime) -> None:
        """Evaluate a processed batch (in the processor's transaction)."""

    def sweep(self, conn: Connection, now: datetime) -> None:
        """Evaluate what the passing of time alone decides (in the sweep's transaction)."""
