"""The audit log (collector/audit.py), on both stores: a line stored with the change it records
or not at all, over-long values cut rather than refused, the latest lines newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from collector import audit
from tests.fakes import FakeClock


def test_lines_come_back_newest_first_and_cut_to_their_columns(engine: Engine) -> None:
    clock = FakeClock()
    with engine.begin() as conn:
        audit.record(conn, clock.now(), "admin-token", "user_created", "user:an", "role admin")
        audit.record(
            conn,
            clock.now() + timedelta(minutes=1),
            "a" * 100,
            "b" * 100,
            "t" * 500,
            "d" * 5000,
        )
    newest, oldest = audit.latest(engine)
    assert (newest["actor"], newest["action"]) == ("a" * 64, "b" * 40)
    assert (newest["target"], newest["detail"]) == ("t" * 200, "d" * 2000)
    assert (oldest["actor"], oldest["action"], oldest["target"], oldest["detail"]) == (
        "admin-token",
        "user_created",
        "user:an",
        "role admin",
    )
    assert oldest["at"] == clock.now()
    assert [line["action"] for line in audit.latest(engine, limit=1)] == ["b" * 40]


def test_a_line_goes_with_its_transaction(engine: Engine) -> None:
    clock = FakeClock()

    def failed_change() -> None:
        with engine.begin() as conn:
            audit.record(conn, clock.now(), "cli:root", "ticket_resolved", "ticket:1")
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        failed_change()
    assert audit.latest(engine) == []
