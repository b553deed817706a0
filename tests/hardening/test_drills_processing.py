"""Failure drill: the collector SIGKILLed while its processor is mid-way through a large journal.

A real child process (``commune-monitor serve`` on SQLite, the single-process deployment;
``commune-monitor process`` on PostgreSQL, the split one beside ``serve --no-processor``) works
through ~8,000 journal entries with the alert engine and the time-series sink to a real
VictoriaMetrics, and is killed once its cursor is well inside the journal. Restarted, it must
resume from its cursor by itself and end exactly as a copy of the same store processed without
a kill: the same device state, events, rule state, incidents and tickets (none twice), the same
notifications queued, and every sample in VictoriaMetrics once, at its measured time.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, create_engine, func, make_url, select, text

from alerts.schema import incidents, outbox, rule_state, tickets
from collector.schema import cursors, device_state, events, journal
from collector.settings import load_settings
from province.service import build_service
from tests.agent.support import CollectorProcess, wait_until
from tests.conftest import PG_ADMIN_URL
from tests.dashboards.province import commune_codes, enrol, expected_points, ingest
from tests.hardening.support import ProcessingProcess
from tests.tsdb import VictoriaMetrics

AGENTS = 32
REPORTS = 250  # per agent: 8,000 journal entries, 16 processor steps of 500
# The processor's lease (collector/processor.py): a restarted process waits out the dead one's.
LEASE_SECONDS = 30


def _reports(index: int, start: datetime) -> list[dict[str, Any]]:
    """One commune's site agent: two PCs and a printer every minute, with faults that stay.

    Only conditions kept in the store decide the outcome (thresholds, jams, toner history):
    the alert engine's in-memory probe and ping baselines are re-learnt after a restart by
    design (alerts/engine.py), so they are not part of this drill.
    """
    out = []
    for k in range(REPORTS):
        pcs = []
        for n in (1, 2):
            full = index % 4 == 0 and n == 1 and k >= REPORTS // 2
            pcs.append(
                {
                    "device_id": f"pc-{index}-{n}",
                    "kind": "pc",
                    "samples": [
                        {"name": "cpu_percent", "value": float((index * 7 + k) % 100)},
                        {"name": "memory_used_percent", "value": 50.0},
                        {
                            "name": "disk_used_percent",
                            "value": 95.0 if full else 40.0 + k % 7,
                            "labels": {"volume": "C:"},
                        },
                    ],
                    "events": (
                        [{"type": "reboot", "message": f"boot {k}"}]
                        if n == 2 and k % 50 == 0
                        else []
                    ),
                }
            )
        jammed = index % 5 == 0 and k >= REPORTS // 3
        printer = {
            "device_id": f"printer-{index}",
            "kind": "printer",
            "samples": [
                {"name": "snmp_up", "value": 1.0},
                {
                    "name": "printer_supply_level_percent",
                    "value": round(80.0 - k * 0.1, 1),
                    "labels": {"supply": "1", "type": "toner"},
                },
                {
                    "name": "printer_error",
                    "value": 1.0 if jammed else 0.0,
                    "labels": {"printer": "1", "condition": "jammed"},
                },
            ],
        }
        out.append(
            {
                "seq": k + 1,
                "measured_at": (start + timedelta(seconds=60 * k)).isoformat(),
                "devices": [*pcs, printer],
            }
        )
    return out


def _fill_journal(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The journal of 32 communes' agents, through the real ingest function."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(seconds=60 * REPORTS + 600)
    sent = {}
    for index, commune in enumerate(commune_codes(engine, AGENTS)):
        sent[commune] = _reports(index, start)
        ingest(engine, enrol(engine, commune, now), sent[commune], now)
    return sent


@pytest.fixture
def reference_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """Where the copy of the filled store goes (created by _copy_store, dropped afterwards)."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    name = f"cm_test_ref_{secrets.token_hex(6)}"
    yield str(make_url(store_url).set(database=name))
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _copy_store(engine: Engine, reference: str) -> None:
    """An exact copy of the store, agent ids and journal included, before any processing."""
    engine.dispose()
    source = make_url(str(engine.url))
    target = make_url(reference)
    if source.get_backend_name() == "sqlite":
        with (
            sqlite3.connect(str(source.database)) as src,
            sqlite3.connect(str(target.database)) as dst,
        ):
            src.backup(dst)
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{target.database}" TEMPLATE "{source.database}"'))
    finally:
        admin.dispose()


def _position(engine: Engine) -> int:
    with engine.connect() as conn:
        position = conn.execute(
            select(cursors.c.position).where(cursors.c.name == "processor")
        ).scalar_one_or_none()
    return int(position or 0)


def _snapshot(engine: Engine) -> dict[str, Any]:
    """What processing produced, without the times it was done at (the clocks differ)."""
    ticket_number = re.compile(r"#\d+ ")
    with engine.connect() as conn:
        return {
            "cursor": _position(engine),
            "device_state": sorted(tuple(r) for r in conn.execute(select(device_state))),
            "events": sorted(
                tuple(row)
                for row in conn.execute(select(*(c for c in events.c if c.name != "id"))).all()
            ),
            "rule_state": sorted(tuple(r) for r in conn.execute(select(rule_state))),
            "incidents": sorted(
                conn.execute(
                    select(
                        incidents.c.key,
                        incidents.c.problem_class,
                        incidents.c.commune_code,
                        incidents.c.device_id,
                        incidents.c.signal,
                        incidents.c.started_at,
                        incidents.c.ended_at,
                        incidents.c.active,
                        incidents.c.recurrences,
                    )
                ).all()
            ),
            "tickets": sorted(
                conn.execute(
                    select(
                        tickets.c.problem_class,
                        tickets.c.commune_code,
                        tickets.c.device_id,
                        tickets.c.owner,
                        tickets.c.state,
                        tickets.c.reopen_count,
                    )
                ).all()
            ),
            # Subjects name the ticket number, which a killed transaction's sequence can shift.
            "outbox": sorted(
                (channel, ticket_number.sub("#N ", subject))
                for channel, subject in conn.execute(select(outbox.c.channel, outbox.c.subject))
            ),
        }


def _exported_all(vm: VictoriaMetrics) -> dict[tuple[Any, ...], list[tuple[int, float]]]:
    out = {}
    for series in vm.export('{__name__=~"cm_device_.+"}'):
        labels = dict(series["metric"])
        name, commune = labels.pop("__name__"), labels.pop("commune_code")
        labels.pop("province")
        out[(commune, name, tuple(sorted(labels.items())))] = sorted(
            zip(series["timestamps"], series["values"], strict=True)
        )
    return out


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    vm = VictoriaMetrics(tmp_path / "vm").start()
    try:
        yield vm
    finally:
        vm.stop()


@pytest.mark.slow
def test_collector_killed_mid_journal_resumes_from_its_cursor_and_ends_as_if_never_killed(
    engine: Engine,
    store_url: str,
    reference_url: str,
    tmp_path: Path,
    victoria: VictoriaMetrics,
) -> None:
    sent = _fill_journal(engine)
    with engine.connect() as conn:
        end = int(conn.execute(select(func.max(journal.c.id))).scalar_one())
    assert end == AGENTS * REPORTS
    _copy_store(engine, reference_url)

    env = {
        # Silence would depend on how long the drill takes; it has drills of its own.
        "COMMUNE_MONITOR_HEARTBEAT_SECONDS": "86400",
        "COMMUNE_MONITOR_INFLUX_URL": victoria.url,
        "COMMUNE_MONITOR_INFLUX_FLUSH_INTERVAL_SECONDS": "0.2",
    }
    data_dir = tmp_path / "collector"
    data_dir.mkdir()
    sqlite = store_url.startswith("sqlite")
    child = (
        CollectorProcess(store_url, data_dir, env)
        if sqlite
        else ProcessingProcess(store_url, data_dir, env)
    )
    try:
        child.start()
        # Kill once a quarter is done: the cursor committed somewhere inside the journal.
        wait_until(lambda: _position(engine) >= end // 4, 60, "the processor to get going")
        child.kill()
        killed_at = _position(engine)
        assert 0 < killed_at < end, "the kill did not land mid-journal"
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(device_state)).scalar_one() > 0

        child.start()  # the same command again; no operator step in between
        wait_until(
            lambda: _position(engine) == end,
            LEASE_SECONDS + 60,
            "processing to resume from the cursor (after the dead process's lease)",
        )
        expected = {}
        for commune, reports in sent.items():
            for (name, labels), points in expected_points(reports).items():
                expected[(commune, name, labels)] = sorted(points)
        wait_until(
            lambda: (
                sum(len(p) for p in _exported_all(victoria).values())
                >= sum(len(p) for p in expected.values())
            ),
            60,
            "every sample in VictoriaMetrics",
        )
        child.stop()
    finally:
        child.stop()
    log = child.log.read_text()
    assert "Traceback" not in log, log[-3000:]

    reference_settings = load_settings(
        data_dir=tmp_path / "reference", database_url=reference_url, heartbeat_seconds=86400
    )
    reference = build_service(reference_settings, registry=CollectorRegistry())
    try:
        assert _position(reference.engine) == 0
        assert reference.processor.drain() == end
        want = _snapshot(reference.engine)
    finally:
        reference.engine.dispose()
    got = _snapshot(engine)
    assert got["cursor"] == end
    assert len(got["tickets"]) == len(set(got["tickets"])), "a ticket raised twice"
    assert {t[0] for t in got["tickets"]} == {"device_health", "printer_fault"}
    for part in want:
        assert got[part] == want[part], f"{part} differs from the store processed without a kill"
    # Re-sent points (the step cut by the kill) are the same points: none twice, none missing.
    assert _exported_all(victoria) == expected
