"""A small simulated province for history tests: catalogue sample names, real ingest path.

The fleet simulator (collector/sim) is being built elsewhere; this generator is deliberately
small and deterministic. Each commune has one agent reporting two counter PCs (host health,
HTTP probes of the procedure software, pings), a printer and a router every ``step`` seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from agent.wire import ReportBatch
from collector import agents
from collector.ingest import store_batch
from collector.schema import communes

TARGETS = (("motcua", "motcua.ninhbinh.gov.vn"), ("dvcqg", "dichvucong.gov.vn"))
PHASES = ("dns", "connect", "tls", "ttfb", "total")


@dataclass(frozen=True)
class Agent:
    """An enrolled agent of one commune."""

    commune_code: str
    agent_id: str
    token: str


def commune_codes(engine: Engine, count: int) -> list[str]:
    """The first ``count`` communes of the store, by code."""
    with engine.connect() as conn:
        return list(
            conn.execute(select(communes.c.code).order_by(communes.c.code).limit(count)).scalars()
        )


def enrol(engine: Engine, commune_code: str, now: datetime) -> Agent:
    """Enrol one agent for ``commune_code``."""
    token = agents.create_enrol_token(engine, commune_code, now, timedelta(hours=1))
    ident = agents.enrol(engine, token, f"site-{commune_code}", "test", now)
    return Agent(commune_code, ident.agent_id, ident.agent_token)


def pc(device_id: str, rng: random.Random, slow: bool) -> dict[str, Any]:
    """A counter PC with host, probe and ping samples named as in agent/checks/metrics.yaml."""
    samples: list[dict[str, Any]] = [
        {"name": "agent_up", "value": 1.0},
        {"name": "cpu_percent", "value": round(rng.uniform(5, 95), 2)},
        {"name": "memory_used_percent", "value": round(rng.uniform(30, 98), 2)},
        {"name": "uptime_seconds", "value": float(rng.randrange(3600, 900_000))},
        {
            "name": "disk_used_percent",
            "value": round(rng.uniform(20, 97), 1),
            "labels": {"volume": "C:"},
        },
        {
            "name": "smart_power_on_hours",
            "value": float(rng.randrange(2_000, 60_000)),
            "labels": {"disk": "0"},
        },
        {
            "name": "smart_wear_percent",
            "value": float(rng.randrange(0, 90)),
            "labels": {"disk": "0"},
        },
        {
            "name": "smart_reallocated_sectors",
            "value": float(rng.choice((0, 0, 0, 8))),
            "labels": {"disk": "0"},
        },
        {"name": "smart_healthy", "value": 1.0, "labels": {"disk": "0"}},
    ]
    for target, host in TARGETS:
        ok = 0.0 if slow and target == "motcua" and rng.random() < 0.3 else 1.0
        samples.append(
            {"name": "probe_success", "value": ok, "labels": {"target": target, "host": host}}
        )
        scale = 4.0 if slow else 1.0
        for i, phase in enumerate(PHASES):
            samples.append(
                {
                    "name": "probe_duration_seconds",
                    "value": round(scale * rng.uniform(0.01, 0.1) * (i + 1), 4),
                    "labels": {"target": target, "host": host, "phase": phase},
                }
            )
    for target, address in (("gateway", "192.168.1.1"), ("wan", "8.8.8.8")):
        labels = {"target": target, "address": address, "method": "icmp"}
        samples.append({"name": "ping_up", "value": 1.0, "labels": labels})
        samples.append(
            {"name": "ping_loss_ratio", "value": rng.choice((0.0, 0.0, 0.1)), "labels": labels}
        )
        for stat in ("min", "avg", "max"):
            samples.append(
                {
                    "name": "ping_rtt_seconds",
                    "value": round(rng.uniform(0.001, 0.08), 4),
                    "labels": {**labels, "stat": stat},
                }
            )
    return {"device_id": device_id, "kind": "pc", "samples": samples}


def printer(
    device_id: str, rng: random.Random, level: float, *, jammed: bool = False
) -> dict[str, Any]:
    """A printer as the SNMP poller reports it (agent/checks/snmp/metrics.yaml names), jammed now
    and then (the poller's condition word, agent/checks/snmp/printer.py), or for good if
    ``jammed``."""
    supply = {
        "supply": "1",
        "description": "Black Toner Cartridge CF410A",
        "type": "toner",
        "colour": "black",
    }
    return {
        "device_id": device_id,
        "kind": "printer",
        "samples": [
            {"name": "snmp_up", "value": 1.0},
            {"name": "printer_supply_level_percent", "value": level, "labels": supply},
            {"name": "printer_status", "value": 3.0, "labels": {"printer": "1"}},
            {
                "name": "printer_error",
                "value": float(rng.random() < 0.1 or jammed),
                "labels": {"printer": "1", "condition": "jammed"},
            },
            {
                "name": "printer_pages_total",
                "value": float(rng.randrange(10_000, 90_000)),
                "labels": {"marker": "1"},
            },
        ],
    }


def router(device_id: str, rng: random.Random) -> dict[str, Any]:
    """A router with one WAN interface."""
    labels = {"if_index": "1", "interface": "wan0"}
    return {
        "device_id": device_id,
        "kind": "router",
        "samples": [
            {"name": "snmp_up", "value": 1.0},
            {"name": "if_oper_up", "value": 1.0, "labels": labels},
            {
                "name": "if_in_bits_per_second",
                "value": round(rng.uniform(1e5, 5e7)),
                "labels": labels,
            },
            {
                "name": "if_out_bits_per_second",
                "value": round(rng.uniform(1e5, 1e7)),
                "labels": labels,
            },
        ],
    }


def commune_reports(
    commune_code: str,
    start: datetime,
    count: int,
    step: float,
    *,
    slow: bool = False,
    seed: int = 0,
    jammed_from: int | None = None,
) -> list[dict[str, Any]]:
    """``count`` reports of one commune measured every ``step`` seconds from ``start``; its
    printer stays jammed from report ``jammed_from`` on."""
    rng = random.Random(f"{commune_code}-{seed}")
    reports = []
    for i in range(count):
        level = max(0.0, 80.0 - i * 0.5)
        devices = [
            pc(f"pc-{commune_code}-1", rng, slow),
            pc(f"pc-{commune_code}-2", rng, slow),
            printer(
                f"printer-{commune_code}",
                rng,
                level,
                jammed=jammed_from is not None and i >= jammed_from,
            ),
            router(f"router-{commune_code}", rng),
        ]
        reports.append(
            {
                "seq": i + 1,
                "measured_at": (start + timedelta(seconds=step * i)).isoformat(),
                "devices": devices,
            }
        )
    return reports


def ingest(
    engine: Engine, agent: Agent, reports: list[dict[str, Any]], received_at: datetime
) -> int:
    """Store reports through the real ingest function in batches of 100; returns samples stored."""
    identity = agents.authenticate(engine, agent.token)
    total = 0
    for first in range(0, len(reports), 100):
        chunk = reports[first : first + 100]
        body = ReportBatch.model_validate(
            {
                "schema_version": 1,
                "agent_id": agent.agent_id,
                "sent_at": received_at.isoformat(),
                "reports": chunk,
            }
        )
        with engine.begin() as conn:
            _ack, _reports, samples = store_batch(
                conn, identity, body, received_at, timedelta(0), 1_000_000
            )
        total += samples
    return total


def expected_points(
    reports: list[dict[str, Any]],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]]:
    """(series name, sorted labels without province/commune) -> [(ms timestamp, value)]."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]] = {}
    for report in reports:
        ts = round(datetime.fromisoformat(report["measured_at"]).timestamp() * 1000)
        for device in report["devices"]:
            for sample in device["samples"]:
                labels = {
                    "device_id": device["device_id"],
                    "kind": device["kind"],
                    **sample.get("labels", {}),
                }
                key = ("cm_device_" + sample["name"], tuple(sorted(labels.items())))
                out.setdefault(key, []).append((ts, float(sample["value"])))
    return out
