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
from tests.alerts import agent_samples
from tests.fakes import FakeClock

HEARTBEAT = 60.0
# A vendor (the ISP) technicians' bearer token for the ticket API; routing holds its SHA-256.
ISP_TOKEN = "isp-technician-token"
# A label value planting lines of its own in a ticket or message (issue 20).
PLANTED = "motcua\nURGENT: the account is locked, pay at http://evil.example/pay\r\n\u2028x"


# Probe results as the agent's own check sends them (tests/alerts/agent_samples.py).
_RECORDED = agent_samples.load()
# Durations of each phase as a share of the total, per state (the recorded phases only).
_PHASES = {
    "ok": {"dns": 0.02, "connect": 0.08, "tls": 0.2},
    "fail": {"dns": 0.02, "connect": 0.1},
    "maintenance": {"dns": 0.02, "connect": 0.1},
    "slow": {"dns": 0.01, "connect": 0.02, "tls": 0.05},
    "slow_path": {"dns": 0.01, "connect": 0.3, "tls": 0.5},
    "cut": {"dns": 0.0},
}


def probe_device(
    pc_id: str, target: str, state: str, *, duration: float = 0.4, host: str | None = None
) -> dict[str, Any]:
    """The ``service`` device one PC reports for probing ``target`` in ``state`` (ok, fail,
    maintenance, slow, slow_path, cut): the recorded samples of the real check, with this
    target's labels and durations scaled to ``duration``."""
    recorded = _RECORDED[state]
    host = host or f"{target}.example.gov.vn"
    total = {"slow": duration * 10, "slow_path": duration * 10, "fail": 0.2, "cut": 10.0}.get(
        state, duration
    )
    shares = _PHASES[state]
    samples = []
    for sample in recorded["samples"]:
        labels = {
            key: target
            if value == agent_samples.TARGET
            else host
            if value == agent_samples.HOST
            else value
            for key, value in sample["labels"].items()
        }
        value = sample["value"]
        if sample["name"] == "probe_duration_seconds":
            phase = labels["phase"]
            if phase == "total":
                value = total
            elif phase in shares:
                value = total * shares[phase]
            elif phase == "ttfb":
                value = total * (1 - sum(shares.values()))
            else:
                value = 0.0
        samples.append({"name": sample["name"], "value": value, "labels": labels})
    events = [
        {
            "type": event["type"],
            "severity": "warning",
            "attrs": {name: target if name == "target" else state for name in event["attrs"]},
        }
        for event in recorded["events"]
    ]
    return {
        "device_id": f"probe:{target}@{pc_id}",
        "kind": recorded["kind"],
        "samples": samples,
        "events": events,
    }


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
    """A counter PC: disk, memory, and its probes of central systems (ok, fail, maintenance,
    slow, slow_path, cut), the same for every target or per target (``{"motcua": "fail"}``,
    the others ok). As the agent does, each probe is a ``service`` device of its own: they
    travel under ``"probes"`` here, and :func:`expand` (which :class:`World` applies) turns
    them into the report's devices."""
    probes = [
        probe_device(
            device_id,
            target,
            probe if isinstance(probe, str) else probe.get(target, "ok"),
            duration=duration,
            host=(hosts or {}).get(target),
        )
        for target in targets
    ]
    return {
        "device_id": device_id,
        "kind": "pc",
        "samples": [
            {"name": "cpu_percent", "value": 10.0},
            {"name": "memory_used_percent", "value": memory},
            {"name": "disk_used_percent", "value": disk, "labels": {"volume": "C:"}},
            {"name": "smart_healthy", "value": 1.0, "labels": {"disk": "0"}},
        ],
        "probes": probes,
    }


def goodbye(device: dict[str, Any], reason: str = "shutdown") -> dict[str, Any]:
    """``device`` (a PC) in the agent's last report before a clean stop: its goodbye event."""
    event = {
        "type": "agent_stopping",
        "severity": "info",
        "message": f"commune-agent stopping ({reason})",
        "attrs": {"reason": reason, "uptime_seconds": "32400"},
    }
    return {**device, "events": [*device.get("events", []), event]}


def expand(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The devices of a report: each PC followed by its probes' service devices."""
    out: list[dict[str, Any]] = []
    for device in devices:
        probes = device.get("probes")
        if probes is None:
            out.append(device)
            continue
        out.append({key: value for key, value in device.items() if key != "probes"})
        out.extend(probes)
    return out


def router(
    device_id: str, *, wan_up: bool = True, rtt: float = 0.02, loss: float = 0.0
) -> dict[str, Any]:
    """The commune's router as the site agent polls it over SNMP; the site agent's ping of the
    line travels as a ``link`` device (see :func:`line_ping`)."""
    return {
        "device_id": device_id,
        "kind": "router",
        "samples": [
            {"name": "snmp_up", "value": 1.0},
            {
                "name": "if_oper_up",
                "value": 1.0 if wan_up else 0.0,
                "labels": {"if_index": "1", "interface": "wan"},
            },
        ],
        "probes": [line_ping(device_id, wan_up=wan_up, rtt=rtt, loss=loss)],
    }


def line_ping(
    site_pc: str, *, wan_up: bool = True, rtt: float = 0.02, loss: float = 0.0
) -> dict[str, Any]:
    """The site agent's ping of the commune's line (agent/checks/ping: a ``link`` device)."""
    labels = {"target": "wan", "address": "10.0.0.1", "method": "icmp"}
    samples: list[dict[str, Any]] = [
        {"name": "ping_up", "value": 1.0 if wan_up else 0.0, "labels": labels},
        {"name": "ping_loss_ratio", "value": loss if wan_up else 1.0, "labels": labels},
    ]
    if wan_up:
        for stat, factor in (("min", 0.8), ("avg", 1.0), ("max", 1.3)):
            samples.append(
                {
                    "name": "ping_rtt_seconds",
                    "value": rtt * factor,
                    "labels": {**labels, "stat": stat},
                }
            )
    return {"device_id": f"ping:wan@{site_pc}", "kind": "link", "samples": samples}


def printer(device_id: str, *, level: float = 60.0, jammed: bool = False) -> dict[str, Any]:
    """A printer with one black toner and its jam condition, as the SNMP poller reports it."""
    supply = {"supply": "1", "description": "Black Toner", "type": "toner", "colour": "black"}
    state = "ok" if level > 10 else ("empty" if level <= 0 else "low")
    return {
        "device_id": device_id,
        "kind": "printer",
        "samples": [
            {"name": "snmp_up", "value": 1.0},
            {"name": "printer_supply_level_percent", "value": level, "labels": supply},
            {
                "name": "printer_supply_state",
                "value": 1.0,
                "labels": {**supply, "state": state, "reason": "measured"},
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
                "devices": expand(agent.devices),
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
    """The bundled routing with a bearer token for the ISP's technicians (for the JSON API),
    belonging to console user ``isp-tech`` (it works while that vendor user of isp is enabled)."""
    bundled = (Path(__file__).parents[2] / "alerts" / "routing.yaml").read_text(encoding="utf-8")
    digest = hashlib.sha256(ISP_TOKEN.encode()).hexdigest()
    text = bundled.replace(
        "    escalate_to: so-khcn\n  motcua-vendor:",
        # The token belongs to the ISP's console user (a vendor user of owner isp).
        f"    escalate_to: so-khcn\n    token_user: isp-tech\n    token_sha256: {digest}\n"
        "  motcua-vendor:",
    )
    assert text != bundled
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return path
