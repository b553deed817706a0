"""The stores a long scenario test runs on.

Every store test runs on SQLite and on PostgreSQL (``store_url`` in ``tests/conftest.py``). The
few scenario tests that replay days or weeks of a province through the whole engine (the week,
the weekend sweep, fault injection, the ordinary day) test the alerting's logic, which is the
same on both stores, and cost about three times as much on PostgreSQL. The suite runs them on
SQLite; every store query they use is also run on PostgreSQL by the shorter tests of the same
modules. To run them on PostgreSQL as well (before a release, or after touching a store query)::

    COMMUNE_MONITOR_SCENARIO_STORES=sqlite,postgresql python -m pytest tests/alerts/test_week.py

``python benchmarks/false_tickets_week.py --store postgresql+psycopg://...`` runs the same week
on PostgreSQL outside the suite.
"""

from __future__ import annotations

import os

import pytest

KNOWN_STORES = ("sqlite", "postgresql")
VARIABLE = "COMMUNE_MONITOR_SCENARIO_STORES"


def scenario_stores(value: str | None) -> list[str]:
    """The stores named by ``value`` (comma-separated; SQLite when unset), or a clear error."""
    names = [name.strip() for name in (value or "sqlite").split(",") if name.strip()]
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
