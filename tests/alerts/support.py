"""A small province on the real ingest path (journal, processor, alert engine) for alert tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.wire import ReportBatch
from alerts.engine import AlertEngine
from alerts.routing import Routing, load_routing
from alerts.rules import Rules, load_rules
from alerts.schema import incidents, tickets
from alerts.systems import SystemMap
from collector import agents
from collector.agents import AgentIdentity
from collector.ingest import store_batch
from collector.metrics import IngestMetrics
from collector.processor import Processor
from collector.schema import communes
from tests.fakes import FakeClock

HEARTBEAT = 60.0
# A vendor (the ISP) technicians' bearer token for the ticket API; routing holds its SHA-256.
ISP_TOKEN = "isp-technician-token"


def pc(
    device_id: str,
    *,
    disk: float = 50.0,
    probe: str | dict[str, str] = "ok",
    duration: float = 0.4,
    memory: float = 60.0,
    targets: tuple[str, ...] = ("motcua", "dvcqg"),
    hosts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A counter PC: disk, memory, and probes of central systems (ok/fail/slow/slow_path/cut),
    the same for every target or per target (``{"motcua": "fail"}``, the others ok)."""
    samples: list[dict[str, Any]] = [
        {"name": "cpu_percent", "value": 10.0},
        {"name": "memory_used_percent", "value": memory},
        {"name": "disk_used_percent", "value": disk, "labels": {"volume": "C:"}},
        {"name": "smart_healthy", "value": 1.0, "labels": {"disk": "0"}},
    ]
    for target in targets:
        state = probe if isinstance(probe, str) else probe.get(target, "ok")
        success, status, took = 1.0, 200.0, duration
        if state == "fail":
            success, status, took = 0.0, 503.0, 0.2
        elif state == "cut":
            success, status, took = 0.0, 0.0, 10.0
        elif state in ("slow", "slow_path"):
            took = duration * 10
        # The path's phases (TCP connect, TLS) and the server's (time to first byte).
        path = took * 0.8 if state == "slow_path" else min(took, duration) * 0.2
        # The agent labels each probe with its name and, as here when given, its URL host.
        label = {"target": target, **({"host": hosts[target]} if hosts and target in hosts else {})}
        for phase, value in (("connect", path * 0.5), ("tls", path * 0.5), ("ttfb", took - path)):
            samples.append(
                {
                    "name": "probe_duration_seconds",
                    "value": value,
                    "labels": {**label, "phase": phase},
                }
            )
        samples += [
            {"name": "probe_success", "value": success, "labels": label},
            {"name": "probe_http_status", "value": status, "labels": label},
            {
                "name": "probe_duration_seconds",
                "value": took,
                "labels": {**label, "phase": "total"},
            },
        ]
    return {"device_id": device_id, "kind": "pc", "samples": samples}


def router(
    device_id: str, *, wan_up: bool = True, rtt: float = 0.02, loss: float = 0.0
) -> dict[str, Any]:
    """The commune's router as the site agent polls and pings it."""
    up = 1.0 if wan_up else 0.0
    ping = {"target": device_id, "address": "10.0.0.1", "method": "icmp"}
    return {
        "device_id": device_id,
        "kind": "router",
        "samples": [
            {"name": "snmp_up", "value": 1.0},
            {"name": "if_oper_up", "value": up, "labels": {"if_index": "1", "interface": "wan"}},
            {"name": "ping_up", "value": up, "labels": ping},
            {"name": "ping_loss_ratio", "value": loss if wan_up else 1.0, "labels": ping},
            {"name": "ping_rtt_seconds", "value": rtt, "labels": {**ping, "stat": "avg"}},
        ],
    }


def printer(device_id: str, *, level: float = 60.0, jammed: bool = False) -> dict[str, Any]:
    """A printer with one toner and its jam condition."""
    return {
        "device_id": device_id,
        "kind": "printer",
        "samples": [
            {"name": "snmp_up", "value": 1.0},
            {
                "name": "printer_supply_level_percent",
                "value": level,
                "labels": {"supply": "1", "type": "toner"},
            },
            {
                "name": "printer_error",
                "value": 1.0 if jammed else 0.0,
                "labels": {"printer": "1", "condition": "jammed"},
            },
        ],
    }


@dataclass
class Agent:
    """One enrolled agent and what it measures."""

    identity: AgentIdentity
    commune: str
    devices: list[dict[str, Any]]
    seq: int = 0
    backlog: list[dict[str, Any]] = field(default_factory=list)


class World:
    """Communes, agents and the collector's processing with an alert engine, on a fake clock."""

    def __init__(
        self,
        engine: Engine,
        *,
        rules: Rules | None = None,
        routing: Routing | None = None,
        clock: FakeClock | None = None,
        systems: SystemMap | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock or FakeClock()
        self.alerts = AlertEngine(
            engine,
            rules or load_rules(),
            routing or load_routing(),
            self.clock,
            heartbeat_seconds=HEARTBEAT,
            systems=systems,
        )
        self.processor = Processor(
            engine,
            self.clock,
            IngestMetrics.create(CollectorRegistry()),
            consumers=[self.alerts],
        )
        with engine.connect() as conn:
            self.communes = list(
                conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars()
            )
        self.agents: list[Agent] = []

    def enrol(self, commune: str, devices: list[dict[str, Any]]) -> Agent:
        """A new agent of ``commune`` reporting ``devices``."""
        now = self.clock.now()
        token = agents.create_enrol_token(self.engine, commune, now, timedelta(hours=1))
        enrolment = agents.enrol(self.engine, token, f"host-{len(self.agents)}", "test", now)
        agent = Agent(agents.authenticate(self.engine, enrolment.agent_token), commune, devices)
        self.agents.append(agent)
        return agent

    def measure(self, agent: Agent, at: datetime | None = None) -> None:
        """The agent measures now (or at ``at``): the report waits in its backlog."""
        agent.seq += 1
        agent.backlog.append(
            {
                "seq": agent.seq,
                "measured_at": (at or self.clock.now()).isoformat(),
                "devices": agent.devices,
            }
        )

    def deliver(self, agent: Agent) -> None:
        """Send the agent's backlog through the journal (as its sender would)."""
        if not agent.backlog:
            return
        batch = ReportBatch.model_validate(
            {
                "schema_version": 1,
                "agent_id": agent.identity.agent_id,
                "sent_at": self.clock.now().isoformat(),
                "reports": agent.backlog,
            }
        )
        with self.engine.begin() as conn:
            store_batch(conn, agent.identity, batch, self.clock.now(), timedelta(0), 100_000)
        agent.backlog = []

    def tick(
        self, *, silent: frozenset[str] = frozenset(), cut: frozenset[str] = frozenset()
    ) -> None:
        """One heartbeat: every agent measures; agents of ``cut`` communes cannot send; agents
        in ``silent`` (ids) are switched off. Then the processor and the sweep run."""
        for agent in self.agents:
            if agent.identity.agent_id in silent:
                continue
            self.measure(agent)
            if agent.commune not in cut:
                self.deliver(agent)
        self.processor.drain()
        self.alerts.sweep()
        self.clock.advance(HEARTBEAT)

    def tickets(self) -> list[Any]:
        """Every ticket with its incident's times."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(
                        tickets,
                        incidents.c.started_at,
                        incidents.c.ended_at,
                        incidents.c.active,
                        incidents.c.evidence,
                    )
                    .join(incidents, incidents.c.id == tickets.c.incident_id)
                    .order_by(tickets.c.id)
                ).all()
            )


def routing_with_isp_token(tmp_path: Path) -> Path:
    """The bundled routing with a bearer token for the ISP's technicians (for the JSON API)."""
    bundled = (Path(__file__).parents[2] / "alerts" / "routing.yaml").read_text(encoding="utf-8")
    digest = hashlib.sha256(ISP_TOKEN.encode()).hexdigest()
    text = bundled.replace(
        "    escalate_to: so-khcn\n  motcua-vendor:",
        f"    escalate_to: so-khcn\n    token_sha256: {digest}\n  motcua-vendor:",
    )
    assert text != bundled
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return path
