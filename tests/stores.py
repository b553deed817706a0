"""The stores a long scenario test runs on.

Every store test runs on SQLite and on PostgreSQL (``store_url`` in ``tests/conftest.py``). The
few scenario tests that replay days or a week of a province through the whole engine (the week,
the weekend sweep, the Monday grace, fault injection, the ordinary day) do too, and cost about
three times as much on PostgreSQL: the week alone takes some twenty minutes there. While working
on the alerting's logic, which is the same on both stores, a developer may run them on SQLite
only::

    COMMUNE_MONITOR_SCENARIO_STORES=sqlite python -m pytest tests/alerts/test_week.py

The whole suite (scripts/test, CI) runs them on both.
"""

from __future__ import annotations

import os

import pytest

KNOWN_STORES = ("sqlite", "postgresql")
VARIABLE = "COMMUNE_MONITOR_SCENARIO_STORES"


def scenario_stores(value: str | None) -> list[str]:
    """The stores named by ``value`` (comma-separated; both when unset), or a clear error."""
    names = [name.strip() for name in (value or ",".join(KNOWN_STORES)).split(",") if name.strip()]
    unknown = sorted(set(names) - set(KNOWN_STORES))
    if unknown or not names:
        raise pytest.UsageError(
            f"{VARIABLE}={value!r}: expected a comma-separated list of {', '.join(KNOWN_STORES)}"
        )
    return names


# Overrides the ``store_url`` fixture's two parameters for the test it decorates.
on_scenario_stores = pytest.mark.parametrize(
    "store_url", scenario_stores(os.environ.get(VARIABLE)), indirect=True
)
