"""Helpers of the host check's tests: collect once (catalogue-checked), pick samples by name."""

from __future__ import annotations

from agent.checks.host import HostCheck
from agent.wire import DeviceReport, Sample
from tests.agent.checks.helpers import assert_catalogued

# No SMART, and no "recently booted" event: CI may run minutes after the machine started.
NO_SMART = {"smartctl_path": None, "recent_boot_seconds": 0}


def by_name(report: DeviceReport, name: str) -> list[Sample]:
    """The samples of ``report`` named ``name``."""
    return [s for s in report.samples if s.name == name]


def one(report: DeviceReport, name: str) -> float:
    """The value of the one sample named ``name``."""
    [sample] = by_name(report, name)
    return sample.value


async def collect(check: HostCheck) -> DeviceReport:
    """One collection of ``check``; every sample and event must be catalogued."""
    [report] = await check.collect()
    assert_catalogued([report])
    return report
