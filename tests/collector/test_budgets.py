"""Budgets per agent and per commune, and device owners (collector/budgets.py), on both stores,
sent as one agent's stolen token would (issue 20): past a budget the excess is refused with the
budget named, counted on /metrics and kept on the agent's row; nothing silently dropped."""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from agent.clock import SystemClock
from agent.sender import Sender
from agent.spool import Spool
from agent.wire import DeviceReport
from collector.schema import audit_log, device_owners, device_state, journal
from collector.settings import Settings
from province.cli import app as cli
from tests.collector.builders import batch, pc_device
from tests.hardening.inprocess import Collector, Enrolled, running_collector

ADMIN = {"Authorization": "Bearer admin-secret"}


def labelled(device_id: str, name: str, count: int, start: int = 0) -> dict[str, Any]:
    """A device whose ``count`` samples of ``name`` each carry a label value of their own."""
    return {
        "device_id": device_id,
        "kind": "other",
        "samples": [
            {"name": name, "value": 1.0, "labels": {"v": f"{name}-{i}"}}
            for i in range(start, start + count)
        ],
    }


def plain(device_id: str, names: int = 1) -> dict[str, Any]:
    """A device with ``names`` distinct sample names."""
    return {
        "device_id": device_id,
        "kind": "pc",
        "samples": [{"name": f"s{i}", "value": 1.0} for i in range(names)],
    }


async def _post(
    collector: Collector, agent: Enrolled, seqs: list[int], devices: list[dict[str, Any]]
) -> Any:
    now = collector.clock.now()
    return await collector.post(
        agent, batch(agent.agent_id, seqs, now, devices=devices, sent_at=now)
    )


async def test_series_past_the_agents_budget_are_refused_naming_it_and_recorded(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings, budgets_series_per_agent=100) as collector:
        agent = await collector.enrol()
        refused = await _post(collector, agent, [1], [labelled("probe-1", "rtt", 150)])
        assert refused.status_code == 422
        body = refused.json()
        assert body["budget"] == "budgets.series_per_agent"
        assert body["refused"] == [1]
        assert body["field"] == "reports.0"
        assert "budgets.series_per_agent (100)" in body["detail"]
        assert "COMMUNE_MONITOR_BUDGETS_SERIES_PER_AGENT" in body["detail"]
        assert collector.journal_seqs(agent) == []
        # Within the budget: stored; growing past it later: refused, the earlier kept.
        assert (
            await _post(collector, agent, [1], [labelled("probe-1", "rtt", 60)])
        ).status_code == 200
        again = await _post(collector, agent, [2, 3], [labelled("probe-1", "rtt", 120)])
        assert again.status_code == 422
        assert again.json()["refused"] == [2, 3]
        assert collector.journal_seqs(agent) == [1]
        metric = "cm_ingest_budget_refusals_total"
        assert await collector.metric(metric, budget="budgets.series_per_agent") == 3
        page = await collector.client.get(f"/api/v1/agents/{agent.agent_id}", headers=ADMIN)
        assert page.status_code == 200
        shown = page.json()
        assert shown["refusals"] == 2
        assert "budgets.series_per_agent" in shown["last_refusal"]
        assert shown["series"]["budget"] == 100


async def test_the_million_series_request_is_refused_before_validation_within_a_memory_ceiling(
    engine: Engine, settings: Settings
) -> None:
    # The request: 500 devices x 2,000 samples, each with a label value of its own,
    # 2.5 MB gzipped. Refused from its object count, in the validation worker, not on the loop.
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        now = collector.clock.now()
        devices = [labelled(f"d{i}", "x", 2_000, start=i * 2_000) for i in range(500)]
        body = gzip.compress(
            json.dumps(batch(agent.agent_id, [1], now, devices=devices, sent_at=now)).encode()
        )
        del devices
        tracemalloc.start()
        try:
            answer = await collector.client.post(
                "/api/v1/reports",
                content=body,
                headers={"Authorization": f"Bearer {agent.token}", "Content-Encoding": "gzip"},
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert answer.status_code == 413, answer.text
        assert "ingest.max_objects_per_batch (250000)" in answer.json()["detail"]
        assert peak < 4 * len(body) + 8 * 1024 * 1024, peak
        assert collector.journal_seqs(agent) == []


async def test_a_series_flood_stops_at_the_budget_and_metrics_stays_bounded(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        answers = []
        # Ten batches of 10,000 fresh series each (the per-name budget), past the 50,000.
        for index in range(10):
            devices = [labelled(f"d{d}", f"n{index}", 1_000) for d in range(10)]
            answers.append((await _post(collector, agent, [index + 1], devices)).status_code)
        assert answers == [200] * 5 + [422] * 5
        await asyncio.to_thread(collector.service.processor.drain)
        scrape = await collector.scrape()
        device_lines = [line for line in scrape.text.splitlines() if line.startswith("cm_device_n")]
        assert len(device_lines) == 50_000
        assert len(scrape.content) < 10 * 1024 * 1024


async def test_devices_names_and_the_commune_have_budgets_too(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(
        engine,
        settings,
        budgets_devices_per_agent=3,
        budgets_devices_per_commune=4,
        budgets_sample_names_per_agent=5,
        budgets_series_per_name_per_agent=8,
    ) as collector:
        first, second = await collector.enrol(), await collector.enrol()
        over = await _post(collector, first, [1], [plain(f"a{i}") for i in range(4)])
        assert over.json()["budget"] == "budgets.devices_per_agent"
        names = await _post(collector, first, [1], [plain("a0", names=6)])
        assert names.json()["budget"] == "budgets.sample_names_per_agent"
        per_name = await _post(
            collector, first, [1], [labelled("a0", "x", 5), labelled("a1", "x", 5)]
        )
        assert per_name.json()["budget"] == "budgets.series_per_name_per_agent"
        assert "sample name 'x'" in per_name.json()["detail"]
        ok = await _post(collector, first, [1], [plain(f"a{i}") for i in range(3)])
        assert ok.status_code == 200
        # The commune holds 3 of its 4 devices: the second agent's two are one too many.
        commune = await _post(collector, second, [1], [plain("b0"), plain("b1")])
        assert commune.status_code == 422
        assert commune.json()["budget"] == "budgets.devices_per_commune"
        assert (await _post(collector, second, [1], [plain("b0")])).status_code == 200


async def test_a_device_belongs_to_its_first_agent_until_an_admin_moves_it(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        owner, other = await collector.enrol(), await collector.enrol()
        assert (
            await _post(collector, owner, [1], [pc_device("pc-shared", cpu=10.0)])
        ).status_code == 200
        stolen = await _post(collector, other, [1], [pc_device("pc-shared", cpu=99.0)])
        assert stolen.status_code == 409
        body = stolen.json()
        assert body["budget"] == "device_owner"
        assert body["refused"] == [1]
        assert f"belongs to agent {owner.agent_id!r}" in body["detail"]
        assert "move-device" in body["detail"]
        await asyncio.to_thread(collector.service.processor.drain)
        with engine.connect() as conn:
            state = conn.execute(
                select(device_state.c.agent_id, device_state.c.samples).where(
                    device_state.c.device_id == "pc-shared"
                )
            ).one()
        assert state.agent_id == owner.agent_id
        assert '"cpu_percent",{},10.0' in state.samples.replace(" ", "")
        # An admin hands it over (CLI, audited): now the other agent reports it, the first not.
        with engine.connect() as conn:
            commune = conn.execute(
                select(device_owners.c.commune_code).where(device_owners.c.device_id == "pc-shared")
            ).scalar_one()
        moved = CliRunner().invoke(
            cli,
            [
                "--database-url",
                str(engine.url.render_as_string(hide_password=False)),
                "agents",
                "move-device",
                commune,
                "pc-shared",
                "--to",
                other.agent_id,
            ],
        )
        assert moved.exit_code == 0, moved.output
        assert (
            await _post(collector, other, [1], [pc_device("pc-shared", cpu=99.0)])
        ).status_code == 200
        assert (await _post(collector, owner, [2], [pc_device("pc-shared")])).status_code == 409
        with engine.connect() as conn:
            line = conn.execute(select(audit_log).where(audit_log.c.action == "device_moved")).one()
        assert line.actor.startswith("cli:")
        assert line.detail == f"from {owner.agent_id} to {other.agent_id}"


async def test_the_agent_sets_refused_reports_aside_and_sends_the_rest(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    async with running_collector(engine, settings) as collector:
        owner, agent = await collector.enrol(), await collector.enrol()
        assert (await _post(collector, owner, [1], [plain("taken")])).status_code == 200
        spool = Spool(tmp_path / "spool.db")
        sender = Sender(
            spool, collector.client, agent_id=agent.agent_id, token=agent.token, clock=SystemClock()
        )
        now = SystemClock().now()
        for devices in ([plain("mine")], [plain("mine"), plain("taken")], [plain("mine")]):
            spool.append(now, [DeviceReport.model_validate(d) for d in devices])
        # The middle report names another agent's device: it leaves the spool, the rest is sent.
        assert await sender.send_once() == 1
        assert sender.refused == 1
        assert spool.stats().depth == 2
        assert await sender.send_once() == 2
        assert spool.stats().depth == 0
        assert collector.journal_seqs(agent) == [1, 3]
        # The next batch says the spool holds nothing below 4: the ack passes the gap at 2.
        spool.append(now, [DeviceReport.model_validate(plain("mine"))])
        assert await sender.send_once() == 1
        assert sender.last_ack is not None
        assert sender.last_ack.acked_seq == 4
        spool.close()


def test_the_ledger_is_read_again_after_a_restart(engine: Engine, settings: Settings) -> None:
    async def fill() -> None:
        async with running_collector(engine, settings, budgets_series_per_agent=100) as collector:
            agent = await collector.enrol()
            assert (
                await _post(collector, agent, [1], [labelled("p", "rtt", 80)])
            ).status_code == 200
            await asyncio.to_thread(collector.service.processor.drain)
            token.append(agent)

    async def grow() -> int:
        # A new process: its ledger starts from the store's device state.
        async with running_collector(engine, settings, budgets_series_per_agent=100) as collector:
            answer = await _post(
                collector, token[0], [2], [labelled("p", "rtt", 90), labelled("q", "rtt", 30)]
            )
            return answer.status_code

    token: list[Enrolled] = []
    asyncio.run(fill())
    assert asyncio.run(grow()) == 422
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(journal)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(device_owners)).scalar_one() == 1
