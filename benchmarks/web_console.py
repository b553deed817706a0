"""Benchmark: the console's province overview for 170 communes and 5,000 devices (target ≤ 300 ms).

Builds a temporary SQLite store (or PostgreSQL with ``--database-url``) holding 170 communes
(Hồ Chí Minh City's 168 and two of Thanh Hóa's, from the bundled 2025 list), ~1,000 agents,
5,000 devices with a counter PC's ~30 samples each, a few dozen silent agents and active
incidents with open tickets, and three ended site outages per commune over the last 30 days
(the availability columns). Rows are written straight into the state tables (the ingest path
has its own benchmark): what is timed is the page. It then times, in process through the ASGI app
(httpx), as a logged-in DOST user:

* ``GET /web/overview``: session check, the overview queries, the Jinja2 render (the figure the
  target is about), and the same with a status filter;
* the reference: ``GET /metrics`` of the same collector over the same 5,000 devices, the hot
  path Prometheus scrapes every 15 s, so the ratio says how heavy the page is against it.

    python -m benchmarks.web_console [--repeat 20] [--database-url URL]

(Run it as a module from the repository root, so that the project's packages are importable.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, insert

from agent.clock import Clock
from alerts.schema import incidents, tickets
from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.schema import agents, device_state, journal
from collector.settings import load_settings
from province import migrate
from province.app import create_app
from province.service import build_service
from tests.collector.builders import pc_device, snmp_device
from web import accounts
from web.accounts import Role
from web.login import LoginGuard
from web.routes.http import SESSION_COOKIE

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
DEVICES = 5_000
COMMUNES = 170


class FixedClock(Clock):
    """The benchmark's 'now': fixed, so silence and SLA countdowns are the same every run."""

    def now(self) -> datetime:
        return NOW

    def monotonic(self) -> float:
        return time.monotonic()


def _fill(engine: Engine, rng: random.Random) -> tuple[int, int]:
    rows = communes.read_units(BUNDLED_UNITS, "79") + communes.read_units(BUNDLED_UNITS, "38")[:2]
    communes.load_units(engine, rows[:COMMUNES])
    codes = [r["commune_code"] for r in rows[:COMMUNES]]
    agent_rows: list[dict[str, object]] = []
    state_rows: list[dict[str, object]] = []
    incident_rows: list[dict[str, object]] = []
    ticket_rows: list[dict[str, object]] = []
    per_commune = DEVICES // len(codes)
    extra = DEVICES - per_commune * len(codes)
    silent_communes = set(rng.sample(codes, 5))
    for index, code in enumerate(codes):
        count = per_commune + (1 if index < extra else 0)
        pcs = max(1, count - 4)
        commune_agents = []
        for a in range(pcs // 5 + 1):
            agent_id = f"a{code}{a:03d}"
            last = NOW - timedelta(minutes=30 if code in silent_communes else 0.5)
            agent_rows.append(
                {
                    "id": agent_id,
                    "commune_code": code,
                    "token_hash": f"{agent_id:0<64}"[:64],
                    "hostname": agent_id,
                    "agent_version": "bench",
                    "created_at": NOW - timedelta(days=30),
                    "acked_seq": 1,
                    "max_seq": 1,
                    "last_seen_at": last,
                    "last_measured_at": last,
                    "clock_skew_seconds": 0.0,
                }
            )
            commune_agents.append(agent_id)
        for d in range(count):
            device = (
                pc_device(f"{code}-PC-{d}") if d < pcs else snmp_device(f"{code}-SN-{d}", "printer")
            )
            samples = [
                [s["name"], s.get("labels", {}), s["value"], NOW.timestamp()]
                for s in device["samples"]
            ]
            state_rows.append(
                {
                    "commune_code": code,
                    "device_id": device["device_id"],
                    "agent_id": commune_agents[d % len(commune_agents)],
                    "kind": device["kind"],
                    "first_seen_at": NOW - timedelta(days=30),
                    "measured_at": NOW - timedelta(seconds=20),
                    "samples": json.dumps(samples),
                    "facts": "{}",
                }
            )
        if index % 4 == 0 or code in silent_communes:
            problem = "site_outage" if code in silent_communes else "device_health"
            incident_rows.append(
                {
                    "id": len(incident_rows) + 1,
                    "key": f"{problem}:{code}",
                    "problem_class": problem,
                    "commune_code": code,
                    "signal": "bench",
                    "started_at": NOW - timedelta(hours=1),
                    "updated_at": NOW,
                    "active": True,
                    "recurrences": 0,
                    "evidence": "{}",
                }
            )
            ticket_rows.append(
                {
                    "incident_id": len(incident_rows),
                    "problem_class": problem,
                    "commune_code": code,
                    "owner": "isp" if problem == "site_outage" else "commune-it",
                    "state": "open",
                    "opened_at": NOW - timedelta(hours=1),
                    "respond_by": NOW + timedelta(hours=1),
                    "resolve_by": NOW + timedelta(hours=4),
                    "title_vi": f"Sự cố {code}",
                    "title_en": f"Problem {code}",
                    "body_vi": "",
                    "body_en": "",
                    "updated_at": NOW,
                }
            )
    # A month of ended outages, three per commune: what the availability columns read.
    for code in codes:
        for ago in (2, 9, 25):
            start = NOW - timedelta(days=ago, hours=rng.randint(0, 23))
            incident_rows.append(
                {
                    "id": len(incident_rows) + 1,
                    "key": f"site_outage:{code}",
                    "problem_class": "site_outage",
                    "commune_code": code,
                    "signal": "bench",
                    "started_at": start,
                    "ended_at": start + timedelta(minutes=rng.randint(5, 240)),
                    "updated_at": NOW,
                    "active": False,
                    "recurrences": 0,
                    "evidence": "{}",
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(agents), agent_rows)
        for start in range(0, len(state_rows), 1000):
            conn.execute(insert(device_state), state_rows[start : start + 1000])
        conn.execute(insert(incidents), incident_rows)
        conn.execute(insert(tickets), ticket_rows)
    return len(agent_rows), len(state_rows)


HEARTBEAT = timedelta(seconds=30)  # the collector's default heartbeat


def _fill_journal(engine: Engine, code: str) -> tuple[str, int]:
    """A week of one PC agent's reports, one per heartbeat, as the journal keeps them (7 days by
    default): what the commune page's device charts read."""
    agent_id, device_id = f"a{code}000", f"{code}-PC-0"
    rows: list[dict[str, object]] = []
    count = int(timedelta(days=7) / HEARTBEAT)
    for seq in range(1, count + 1):
        at = NOW - timedelta(days=7) + HEARTBEAT * seq
        device = pc_device(device_id)
        report = {"seq": seq, "measured_at": at.isoformat(), "devices": [device]}
        rows.append(
            {
                "agent_id": agent_id,
                "seq": seq,
                "measured_at": at,
                "received_at": at,
                "samples": len(device["samples"]),
                "payload": zlib.compress(json.dumps(report).encode(), 1),
            }
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(journal), rows[start : start + 2000])
    return device_id, count


async def _time(client: httpx.AsyncClient, url: str, repeat: int) -> tuple[float, float, int]:
    await client.get(url)  # warm: template compile, statement cache
    times = []
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        answer = await client.get(url)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code)
        size = len(answer.content)
    return statistics.median(times), max(times), size


async def _run(url: str, repeat: int) -> None:
    settings = load_settings(database_url=url, admin_token="bench-admin")
    engine = make_engine(settings)
    migrate.upgrade(engine)
    started = time.perf_counter()
    n_agents, n_devices = _fill(engine, random.Random(10))
    first = communes.read_units(BUNDLED_UNITS, "79")[0]["commune_code"]
    device_id, reports = _fill_journal(engine, first)
    accounts.create_user(engine, "dost", "benchmark-password", Role.DOST, NOW)
    token = LoginGuard().login(engine, "dost", "benchmark-password", "127.0.0.1", NOW)
    print(
        f"store: {COMMUNES} communes, {n_agents} agents, {n_devices} devices "
        f"(filled in {time.perf_counter() - started:.1f} s) on {engine.dialect.name}"
    )
    service = build_service(
        settings, clock=FixedClock(), registry=CollectorRegistry(), engine=engine
    )
    app = create_app(service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://collector", cookies={SESSION_COOKIE: token}
    ) as client:
        overview, overview_max, size = await _time(client, "/web/overview", repeat)
        filtered, _, _ = await _time(client, "/web/overview?status=down&sort=name", repeat)
        metrics, metrics_max, metrics_size = await _time(client, "/metrics", repeat)
        page = f"/web/communes/{first}?device={device_id}"
        day, _, _ = await _time(client, page + "&span=24h", repeat)
        week, week_max, _ = await _time(client, page + "&span=7d", repeat)
    engine.dispose()
    print(
        f"GET /web/overview             median {overview * 1000:7.1f} ms  "
        f"max {overview_max * 1000:7.1f} ms  ({size / 1024:.0f} KiB)  target <= 300 ms: "
        f"{'met' if overview <= 0.3 else 'MISSED'}"
    )
    print(f"GET /web/overview?status=down median {filtered * 1000:7.1f} ms")
    print(
        f"reference GET /metrics        median {metrics * 1000:7.1f} ms  "
        f"max {metrics_max * 1000:7.1f} ms  ({metrics_size / 1024:.0f} KiB)"
    )
    print(f"ratio overview / metrics: {overview / metrics:.2f}")
    print(
        f"GET commune page, device charts 24 h   median {day * 1000:7.1f} ms  "
        f"(journal: {reports} reports of the PC's agent over 7 days)"
    )
    print(
        f"GET commune page, device charts 7 d    median {week * 1000:7.1f} ms  "
        f"max {week_max * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per URL")
    parser.add_argument(
        "--database-url", default=None, help="a store URL; default: a temporary SQLite file"
    )
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(_run(args.database_url, args.repeat))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.repeat))


if __name__ == "__main__":
    main()
