"""Shared helpers of the SNMP tests: where the recordings are, a hand-moved clock and the
catalogue assertion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.catalogue import SNMP_CATALOGUE_PATH, load_catalogue
from agent.wire import DeviceReport, Sample
from tests.services import missing_service

RECORDINGS_DIR = Path(__file__).resolve().parents[3] / "data" / "snmp"
"""The SNMP recordings and their answer keys, kept in the repository (tests/data/snmp)."""


def recordings_dir() -> Path:
    """The recordings folder, or skip (fail under CI=true) if it is missing."""
    if not any(RECORDINGS_DIR.glob("*.snmprec")):
        missing_service(f"the SNMP recordings in {RECORDINGS_DIR}")
    return RECORDINGS_DIR


class ManualClock:
    """A Clock that only moves when the test says so."""

    def __init__(self) -> None:
        self._wall = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
        self._mono = 10_000.0

    def now(self) -> datetime:
        """Wall time (UTC)."""
        return self._wall

    def monotonic(self) -> float:
        """Monotonic seconds."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._wall += timedelta(seconds=seconds)
        self._mono += seconds


def assert_catalogued(reports: list[DeviceReport]) -> None:
    """Every sample name and event type is in metrics.yaml, with exactly its declared labels."""
    catalogue = load_catalogue(SNMP_CATALOGUE_PATH)
    problems: list[str] = []
    for report in reports:
        for sample in report.samples:
            spec = catalogue.metric(sample.name)
            if spec is None:
                problems.append(f"{report.device_id}: sample {sample.name} is not catalogued")
            elif sorted(sample.labels) != sorted(spec.labels):
                problems.append(
                    f"{report.device_id}: {sample.name} has labels {sorted(sample.labels)}, "
                    f"catalogue says {sorted(spec.labels)}"
                )
        for event in report.events:
            event_spec = catalogue.event(event.type)
            if event_spec is None:
                problems.append(f"{report.device_id}: event {event.type} is not catalogued")
            elif not set(event.attrs) <= set(event_spec.attrs):
                problems.append(
                    f"{report.device_id}: event {event.type} has attrs {sorted(event.attrs)}, "
                    f"catalogue allows {sorted(event_spec.attrs)}"
                )
    assert not problems, "\n".join(problems)


def samples_named(report: DeviceReport, name: str, **labels: str) -> list[Sample]:
    """Samples called ``name`` whose labels include ``labels``."""
    return [
        s
        for s in report.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def value_of(report: DeviceReport, name: str, **labels: str) -> float | None:
    """The value of the one matching sample, or None."""
    found = samples_named(report, name, **labels)
    assert len(found) <= 1, f"{len(found)} samples {name}{labels}"
    return found[0].value if found else None


def number(report: DeviceReport, name: str, **labels: str) -> float:
    """The value of the one matching sample, which must exist."""
    found = value_of(report, name, **labels)
    assert found is not None, f"no sample {name}{labels} in {report.device_id}"
    return found
