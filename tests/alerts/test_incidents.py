"""Incidents, one row per root cause (alerts/incidents.py), on both stores: the newest of a key,
its end carried to its members, members kept once, evidence merged, the active software
outages found."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from alerts import incidents
from alerts.schema import alerts

T0 = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)


def _values(key: str, problem_class: str, commune: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "problem_class": problem_class,
        "commune_code": commune,
        "started_at": T0,
        "updated_at": T0,
        **extra,
    }


def test_the_newest_incident_of_each_key(engine: Engine) -> None:
    with engine.begin() as conn:
        old = incidents.insert(conn, _values("site_outage:13285", "site_outage", "13285"))
        incidents.end(conn, old, T0 + timedelta(minutes=5), T0 + timedelta(minutes=6))
        new = incidents.insert(conn, _values("site_outage:13285", "site_outage", "13285"))
        other = incidents.insert(conn, _values("site_outage:13288", "site_outage", "13288"))
        assert incidents.latest(conn, "site_outage:13285").id == new
        assert incidents.latest(conn, "site_outage:99999") is None
        many = incidents.latest_many(
            conn, {"site_outage:13285", "site_outage:13288", "site_outage:99999"}
        )
        assert {key: row.id for key, row in many.items()} == {
            "site_outage:13285": new,
            "site_outage:13288": other,
        }
        assert incidents.latest_many(conn, []) == {}
        ended = incidents.get(conn, old)
        assert (ended.active, ended.ended_at, ended.updated_at) == (
            False,
            T0 + timedelta(minutes=5),
            T0 + timedelta(minutes=6),
        )
        incidents.update_values(conn, new, recurrences=2, signal="wan")
        assert (incidents.get(conn, new).recurrences, incidents.get(conn, new).signal) == (2, "wan")


def test_members_are_kept_once_and_end_with_their_incident(engine: Engine) -> None:
    with engine.begin() as conn:
        incident = incidents.insert(conn, _values("site_outage:13285", "site_outage", "13285"))
        for _ in range(2):
            incidents.attach(conn, incident, "agent:ag_1", "silence", T0)
        incidents.attach(conn, incident, "agent:ag_2", "silence", T0 + timedelta(minutes=1))
        end = T0 + timedelta(minutes=30)
        incidents.end(conn, incident, end, end)
        # Ending it again (a late report) moves nothing.
        incidents.end(conn, incident, end + timedelta(hours=1), end + timedelta(hours=1))
        members = conn.execute(
            select(alerts.c.subject, alerts.c.suppressed, alerts.c.ended_at).order_by(
                alerts.c.subject
            )
        ).all()
        assert incidents.get(conn, incident).ended_at == end
    assert [tuple(m) for m in members] == [
        ("agent:ag_1", True, end),
        ("agent:ag_2", True, end),
    ]


def test_evidence_lists_are_unions_and_other_values_replaced() -> None:
    stored = json.dumps({"communes": ["13288", "13285"], "targets": ["motcua"], "rtt": 0.2})
    merged = json.loads(
        incidents.merge_evidence(stored, {"communes": ["13291", "13285"], "rtt": 0.4, "new": "x"})
    )
    assert merged == {
        "communes": ["13285", "13288", "13291"],
        "targets": ["motcua"],
        "rtt": 0.4,
        "new": "x",
    }
    assert "Xã" in incidents.merge_evidence("{}", {"name": "Xã"})  # kept readable


def test_only_active_software_outages_are_listed(engine: Engine) -> None:
    with engine.begin() as conn:
        incidents.insert(conn, _values("software_outage:motcua", "software_outage", None))
        gone = incidents.insert(conn, _values("software_outage:dvcqg", "software_outage", None))
        incidents.end(conn, gone, T0, T0)
        incidents.insert(conn, _values("site_outage:13285", "site_outage", "13285"))
        incidents.insert(conn, _values("tls:motcua", "tls_cert_expiring", None))
        assert incidents.active_software_outages(conn) == {"software_outage:motcua"}
