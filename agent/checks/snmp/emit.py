"""Collects one device's samples, events and data problems while its tables are decoded."""

from __future__ import annotations

from agent.checks.snmp.values import Missing, Oid, Value, format_oid
from agent.wire import Event, Sample, Severity

_NO_LABELS: dict[str, str] = {}


class Emitter:
    """Samples, events and skipped-value problems of one device poll, in emission order."""

    __slots__ = ("events", "problems", "samples")

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.events: list[Event] = []
        self.problems: list[str] = []

    def sample(self, name: str, value: float, labels: dict[str, str] | None = None) -> None:
        """Add sample ``name`` (it must be in metrics.yaml; a test checks every name)."""
        self.samples.append(Sample(name=name, value=value, labels=labels or _NO_LABELS))

    def event(
        self,
        type_: str,
        severity: Severity,
        message: str,
        attrs: dict[str, str] | None = None,
    ) -> None:
        """Add an event of ``type_`` (listed under ``events`` in metrics.yaml)."""
        self.events.append(
            Event(type=type_, severity=severity, message=message[:2_000], attrs=attrs or {})
        )

    def invalid(self, column: Oid, index: Oid, expected: str, got: Value | None) -> None:
        """Record a value that was skipped because it has the wrong type or is impossible."""
        shown = got.value if isinstance(got, Missing) else got
        self.problems.append(
            f"{format_oid(column + index)} should be {expected}, got {shown!r:.60}"
        )
