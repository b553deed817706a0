"""The lows of issue 20 on the wire, sent as an agent's token would, on both stores: times that
overflow, reserved sample names, facts and attributes without a length, bytes after the gzip
stream. Each is a 4xx naming the field, never a 500 (which the agent retried for ever)."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from collector.settings import Settings
from tests.collector.builders import batch, pc_device
from tests.hardening.inprocess import Collector, Enrolled, running_collector
from tests.services import require_binary


async def _send(collector: Collector, agent: Enrolled, body: dict[str, Any]) -> httpx.Response:
    """``body`` as the agent's JSON, verbatim (no client-side stamping)."""
    return await collector.client.post(
        "/api/v1/reports",
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {agent.token}"},
    )


@pytest.mark.parametrize(
    ("where", "stamp"),
    [
        ("reports.0.measured_at", "0001-01-01T00:00:00+05:00"),
        ("reports.0.measured_at", "0001-01-01T00:00:00-05:00"),
        ("sent_at", "9999-12-31T23:59:59-05:00"),
        ("sent_at", "9999-12-31T23:59:59+14:00"),
    ],
)
async def test_times_out_of_range_are_a_422_naming_the_field(
    engine: Engine, settings: Settings, where: str, stamp: str
) -> None:
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        body = batch(agent.agent_id, [1], collector.clock.now())
        if where == "sent_at":
            body["sent_at"] = stamp
        else:
            body["reports"][0]["measured_at"] = stamp
        answer = await _send(collector, agent, body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == where
        assert "out of range" in answer.json()["detail"]
        assert collector.journal_seqs(agent) == []


async def test_a_reserved_sample_name_is_refused_and_metrics_passes_promtool(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        device = pc_device("pc-1")
        device["samples"].append({"name": "last_report_timestamp_seconds", "value": 1.0})
        answer = await collector.post(
            agent, batch(agent.agent_id, [1], collector.clock.now(), devices=[device])
        )
        assert answer.status_code == 422
        assert "last_report_timestamp_seconds' is reserved" in answer.json()["detail"]
        assert answer.json()["field"].startswith("reports.0.devices.0")
        device["samples"].pop()
        ok = await collector.post(
            agent, batch(agent.agent_id, [1], collector.clock.now(), devices=[device])
        )
        assert ok.status_code == 200
        collector.service.processor.drain()
        scrape = await collector.client.get("/metrics")
    linted = await asyncio.to_thread(
        subprocess.run,
        [require_binary("promtool"), "check", "metrics"],
        input=scrape.content,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert scrape.text.count("# TYPE cm_device_last_report_timestamp_seconds") == 1


async def test_a_5_mb_fact_and_long_event_attributes_are_refused(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        device = pc_device("pc-1")
        device["facts"]["model"] = "M" * (5 * 1024 * 1024)
        answer = await collector.post(
            agent, batch(agent.agent_id, [1], collector.clock.now(), devices=[device])
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "reports.0.devices.0.facts.model"
        assert len(answer.content) < 1_000
        device["facts"] = {"hostname": "pc-1"}
        device["events"] = [{"type": "reboot", "attrs": {"reason": "r" * 5_000}}]
        answer = await collector.post(
            agent, batch(agent.agent_id, [1], collector.clock.now(), devices=[device])
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "reports.0.devices.0.events.0.attrs.reason"
        assert collector.journal_seqs(agent) == []


async def test_bytes_after_the_gzip_stream_are_refused(engine: Engine, settings: Settings) -> None:
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        body = json.dumps(batch(agent.agent_id, [1], collector.clock.now())).encode()
        for tail in (b"trailing garbage", gzip.compress(b'{"smuggled": true}')):
            answer = await collector.client.post(
                "/api/v1/reports",
                content=gzip.compress(body) + tail,
                headers={"Authorization": f"Bearer {agent.token}", "Content-Encoding": "gzip"},
            )
            assert answer.status_code == 400
            assert "follow the end of the gzip stream" in answer.json()["detail"]
        assert collector.journal_seqs(agent) == []
