"""Builders of realistic report batches for tests and benchmarks."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from typing import Any


def pc_device(device_id: str, cpu: float = 12.5, mem: float = 71.0) -> dict[str, Any]:
    """A counter PC's device report with about 30 samples."""
    samples: list[dict[str, Any]] = [
        {"name": "cpu_percent", "value": cpu},
        {"name": "memory_used_percent", "value": mem},
        {"name": "swap_used_percent", "value": 12.0},
        {"name": "uptime_seconds", "value": 86_400.0},
    ]
    for core in range(4):
        samples.append(
            {"name": "cpu_core_percent", "value": cpu + core, "labels": {"core": str(core)}}
        )
    for volume in ("C:", "D:"):
        samples.append({"name": "disk_used_percent", "value": 63.0, "labels": {"volume": volume}})
        samples.append({"name": "disk_free_bytes", "value": 4.2e10, "labels": {"volume": volume}})
    for phase in ("dns", "connect", "tls", "ttfb", "total"):
        for target in ("motcua", "dvcqg"):
            samples.append(
                {
                    "name": "probe_phase_seconds",
                    "value": 0.05,
                    "labels": {"target": target, "phase": phase},
                }
            )
    samples += [
        {"name": "probe_success", "value": 1.0, "labels": {"target": "motcua"}},
        {"name": "probe_success", "value": 1.0, "labels": {"target": "dvcqg"}},
        {"name": "net_recv_bytes_per_second", "value": 12_000.0, "labels": {"nic": "eth0"}},
        {"name": "net_sent_bytes_per_second", "value": 3_000.0, "labels": {"nic": "eth0"}},
        {"name": "ping_rtt_seconds", "value": 0.012, "labels": {"target": "gateway"}},
        {"name": "ping_loss_ratio", "value": 0.0, "labels": {"target": "gateway"}},
    ]
    return {
        "device_id": device_id,
        "kind": "pc",
        "samples": samples,
        "facts": {"hostname": device_id},
    }


def snmp_device(device_id: str, kind: str = "printer", n_samples: int = 20) -> dict[str, Any]:
    """A device polled by the site agent with ``n_samples`` samples."""
    samples = [
        {"name": "if_in_octets_total", "value": float(1000 * i), "labels": {"interface": f"ge{i}"}}
        for i in range(n_samples - 1)
    ]
    samples.append({"name": "snmp_up", "value": 1.0})
    return {"device_id": device_id, "kind": kind, "samples": samples}


def report(seq: int, measured_at: datetime, devices: list[dict[str, Any]]) -> dict[str, Any]:
    """One report."""
    return {"seq": seq, "measured_at": measured_at.isoformat(), "devices": devices}


def batch(
    agent_id: str,
    seqs: list[int],
    start: datetime,
    *,
    step: float = 15.0,
    devices: list[dict[str, Any]] | None = None,
    sent_at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A batch of reports ``seqs`` measured every ``step`` seconds from ``start``."""
    devs = devices if devices is not None else [pc_device(f"pc-{agent_id[-4:]}")]
    reports = [report(s, start + timedelta(seconds=step * (s - 1)), devs) for s in seqs]
    last = start + timedelta(seconds=step * (max(seqs) - 1)) if seqs else start
    return {
        "schema_version": 1,
        "agent_id": agent_id,
        "sent_at": (sent_at or last).isoformat(),
        "reports": reports,
        **extra,
    }


def gzipped(body: dict[str, Any]) -> bytes:
    """The gzip-compressed JSON of ``body``."""
    return gzip.compress(json.dumps(body).encode())
