"""The agent runtime against the real collector: spool replay, exactly-once, central config.

The collector runs in-process on the test's store (SQLite and PostgreSQL) and shares the agent's
FakeClock, so a day-long outage takes no real time. ``Link`` sits between them to cut the network
or lose answers; everything that gets through is handled by the collector's own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI, Header, Response
from sqlalchemy import Engine

from agent.agent_config import AgentConfig, CheckSpec
from agent.checks.base import CheckConfig
from agent.runner import AgentRunner
from agent.sender import SendError
from agent.state import load_cached_config
from agent.wire import DeviceKind, DeviceReport, Report, Sample
from collector import agents
from collector.settings import Settings
from tests.agent.support import (
    InProcessCollector,
    Link,
    agent_settings,
    in_process_collector,
    journal_rows,
)
from tests.fakes import FakeClock

HOST_ONLY = {"checks": {"host": {"check": "host", "interval_seconds": 15}}}


@contextlib.asynccontextmanager
async def agent_on(
    collector: InProcessCollector,
    data_dir: Path,
    clock: FakeClock,
    *,
    config: AgentConfig | None = None,
    enrol: bool = True,
    **settings: Any,
) -> AsyncIterator[tuple[AgentRunner, Link]]:
    """An enrolled agent runner talking to ``collector`` through a Link it can cut."""
    from agent.identity import load_identity

    identity = (
        await collector.enrol(data_dir) if enrol else load_identity(data_dir / "identity.json")
    )
    link = Link(collector.transport)
    async with collector.client(link) as client:
        runner = AgentRunner(
            agent_settings(data_dir, device_id="quay-1", **settings),
            identity,
            client=client,
            clock=clock,
            config=config,
        )
        try:
            yield runner, link
        finally:
            runner.close()


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def assert_exactly_once(engine: Engine, agent_id: str, sent: list[Report]) -> None:
    """The journal holds each spooled report once, in order, with its original measured-at."""
    rows = journal_rows(engine, agent_id)
    assert [seq for seq, _, _ in rows] == [r.seq for r in sent]
    assert [_utc(at) for _, at, _ in rows] == [r.measured_at for r in sent]
    assert [payload for _, _, payload in rows] == sent


async def test_reports_reach_the_journal_once_and_leave_the_spool(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        in_process_collector(engine, settings, clock) as collector,
        agent_on(collector, tmp_path, clock) as (runner, _link),
    ):
        runs = await runner.run_checks_once()
        runner.heartbeat()
        spooled = runner.spool.pending(1_000)
        # The default configuration (issue 23 added the tokens check to host and signing).
        assert {run.name for run in runs} == {"host", "signing", "tokens"}
        assert all(run.ok for run in runs)

        outcome = await runner.send_pending()

        assert outcome.error is None
        assert outcome.sent == len(spooled) == 4
        assert_exactly_once(engine, runner.identity.agent_id, spooled)
        stats = runner.spool.stats()
        assert stats.depth == 0
        assert stats.acked_seq == 4
        assert runner.state.last_acked_seq == 4
        assert runner.state.last_ack_at == clock.now()
        names = {s.name for r in spooled for d in r.devices for s in d.samples}
        assert {"cpu_percent", "agent_up", "agent_spool_reports"} <= names


async def test_a_day_long_outage_is_replayed_once_in_order_with_original_times(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        in_process_collector(engine, settings, clock) as collector,
        agent_on(
            collector, tmp_path, clock, config=AgentConfig.model_validate(HOST_ONLY), batch_size=40
        ) as (runner, link),
    ):
        runner.heartbeat()
        assert (await runner.send_pending()).sent == 1

        link.up = False
        delays = []
        # A simulated day: a heartbeat every 15 minutes, the host check every 2 hours, and a
        # send attempt each time, all failing.
        for step in range(96):
            clock.advance(15 * 60)
            if step % 8 == 0:
                await runner.run_checks_once()
            runner.heartbeat()
            outcome = await runner.send_pending()
            assert outcome.sent == 0
            assert outcome.retryable
            delays.append(outcome.retry_in)
        assert runner.state.send_failures == 96
        assert "link down" in (runner.state.last_send_error or "")
        assert all(0 <= d <= runner.backoff.cap for d in delays)
        waiting = runner.spool.pending(1_000)
        assert len(waiting) == 96 + 12
        assert waiting[0].seq == 2

        link.up = True
        outcome = await runner.send_pending()

        assert outcome.error is None
        assert outcome.sent == len(waiting)
        # Several batches of at most 40, each acknowledged before the next.
        posts = [r for r in link.requests if r.url.path == "/api/v1/reports"]
        assert len(posts) == 1 + 3
        rows = journal_rows(engine, runner.identity.agent_id)
        assert [seq for seq, _, _ in rows] == list(range(1, len(waiting) + 2))
        assert_exactly_once(engine, runner.identity.agent_id, [rows[0][2], *waiting])
        assert runner.spool.stats().depth == 0
        assert runner.state.send_failures == 0
        assert runner.state.last_send_error is None
        # The collector's acknowledged sequence is the agent's last one.
        row = next(a for a in agents.list_agents(engine) if a.agent_id == runner.identity.agent_id)
        assert row.acked_seq == len(waiting) + 1


async def test_an_answer_lost_after_the_collector_stored_the_batch_is_not_duplicated(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        in_process_collector(engine, settings, clock) as collector,
        agent_on(collector, tmp_path, clock) as (runner, link),
    ):
        for _ in range(3):
            runner.heartbeat()
            clock.advance(30)
        spooled = runner.spool.pending(100)
        link.lose_answers = 1

        failed = await runner.send_pending()
        assert failed.error is not None
        assert "ReadError" in failed.error
        # The collector stored the batch, but the agent keeps it until it reads an ack.
        assert len(journal_rows(engine, runner.identity.agent_id)) == 3
        assert runner.spool.stats().depth == 3

        again = await runner.send_pending()
        assert again.error is None
        assert runner.sender.last_ack is not None
        assert runner.sender.last_ack.duplicates == 3
        assert_exactly_once(engine, runner.identity.agent_id, spooled)
        assert runner.spool.stats().depth == 0


async def test_a_restarted_agent_sends_what_the_previous_run_left(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with in_process_collector(engine, settings, clock) as collector:
        async with agent_on(collector, tmp_path, clock) as (runner, link):
            agent_id = runner.identity.agent_id
            runner.heartbeat()
            await runner.send_pending()
            link.up = False
            clock.advance(30)
            runner.heartbeat()
            assert (await runner.send_pending()).error is not None
            left = runner.spool.pending(10)
        assert [r.seq for r in left] == [2]
        # A new process: same data dir, same spool file.
        async with agent_on(collector, tmp_path, clock, enrol=False) as (runner, _link):
            clock.advance(30)
            runner.heartbeat()
            assert (await runner.send_pending()).sent == 2
        rows = journal_rows(engine, agent_id)
        assert [seq for seq, _, _ in rows] == [1, 2, 3]
        assert rows[1][2] == left[0]


async def test_a_spool_started_afresh_continues_above_the_acknowledged_sequence(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with in_process_collector(engine, settings, clock) as collector:
        async with agent_on(collector, tmp_path, clock) as (runner, _link):
            agent_id = runner.identity.agent_id
            for _ in range(4):
                runner.heartbeat()
            await runner.send_pending()
        # The spool is lost (damaged and moved aside, or deleted by hand); state.json remains.
        for name in ("spool.db", "spool.db-wal", "spool.db-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        async with agent_on(collector, tmp_path, clock, enrol=False) as (runner, _link):
            report = runner.heartbeat()
            assert report.seq == 5
            assert (await runner.send_pending()).sent == 1
        # Stored as new, not taken for a duplicate of the acknowledged #1.
        assert [seq for seq, _, _ in journal_rows(engine, agent_id)] == [1, 2, 3, 4, 5]


async def test_a_full_spool_drops_the_oldest_reports_it_and_the_collector_acks_past(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        in_process_collector(engine, settings, clock) as collector,
        agent_on(collector, tmp_path, clock, spool_max_bytes=3_000) as (runner, link),
    ):
        link.up = False
        for _ in range(30):
            runner.heartbeat()
            clock.advance(30)
        stats = runner.spool.stats()
        assert stats.dropped_total > 0
        assert stats.oldest_seq == stats.dropped_total + 1
        last = runner.heartbeat()  # reports the drops
        link.up = True
        outcome = await runner.send_pending()
        assert outcome.error is None
        rows = journal_rows(engine, runner.identity.agent_id)
        assert rows[0][0] > 1
        assert rows[-1][2] == last
        reported = {s.name: s.value for s in last.devices[0].samples}
        assert reported["agent_spool_dropped_total"] >= stats.dropped_total
        # Sequences below the oldest held are gone for good: the collector's ack passes them.
        row = next(a for a in agents.list_agents(engine) if a.agent_id == runner.identity.agent_id)
        assert row.acked_seq == last.seq


async def test_a_revoked_agent_holds_its_reports_and_does_not_hammer(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        in_process_collector(engine, settings, clock) as collector,
        agent_on(collector, tmp_path, clock) as (runner, _link),
    ):
        agents.revoke(engine, runner.identity.agent_id, clock.now())
        runner.heartbeat()
        outcome = await runner.send_pending()
        assert outcome.retryable is False
        assert outcome.retry_in == runner.backoff.cap
        assert "HTTP 401" in (outcome.error or "")
        assert "revoked" in (runner.state.last_send_error or "")
        assert runner.spool.stats().depth == 1
        with pytest.raises(SendError) as refused:
            await runner.sender.send_once()
        assert refused.value.status == 401


async def test_config_poll_uses_the_etag_and_applies_changes_without_restart(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        in_process_collector(engine, settings, clock) as collector,
        agent_on(collector, tmp_path, clock) as (runner, link),
    ):
        assert runner.state.config_source == "default"
        runner.start_scheduler(paused=True)
        try:
            # The collector serves the built-in default: same checks, now with an ETag.
            assert await runner.poll_config() is True
            assert await runner.poll_config() is False
            gets = [r for r in link.requests if r.method == "GET"]
            etag = runner.state.config_etag
            assert etag is not None
            assert "If-None-Match" not in gets[0].headers
            assert gets[1].headers["If-None-Match"] == etag
            assert link.statuses[-1] == 304

            new = {
                "heartbeat_seconds": 60,
                "checks": {
                    "host": {"check": "host", "interval_seconds": 30},
                    "portal": {
                        "check": "http_probe",
                        "interval_seconds": 120,
                        "options": {"targets": [{"name": "dvc", "url": "http://127.0.0.1:9/"}]},
                    },
                },
            }
            answer = await collector.put_config(runner.identity.agent_id, new)
            assert answer.status_code == 200, answer.text

            assert await runner.poll_config() is True
            assert runner.check_names == ["host", "portal"]
            assert runner.state.config_source == "central"
            assert runner.state.config_etag == answer.headers["ETag"]
            assert runner.scheduled_jobs() == {
                "check:host": 30.0,
                "check:portal": 120.0,
                "heartbeat": 60.0,
                "config-poll": runner.settings.config_poll_seconds,
            }
            cached = load_cached_config(runner.settings.central_config_path)
            assert cached is not None
            assert cached.etag == answer.headers["ETag"]
            assert list(cached.config.checks) == ["host", "portal"]
        finally:
            runner.stop_scheduler()
    # A restart during an outage runs the cached configuration.
    async with (
        in_process_collector(engine, settings, clock) as collector,
        agent_on(collector, tmp_path, clock, enrol=False) as (runner, _link),
    ):
        assert runner.state.config_source == "cache"
        assert runner.check_names == ["host", "portal"]


def _newer_collector(config_body: str, etag: str, seen: list[str | None]) -> FastAPI:
    # A collector of a later version that serves a check this agent does not know: the only
    # way a real collector (which validates with the same models) serves a config we reject.
    app = FastAPI()

    @app.get("/api/v1/agents/{agent_id}/config")
    async def config(if_none_match: str | None = Header(default=None)) -> Response:
        seen.append(if_none_match)
        if if_none_match == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(config_body, media_type="application/json", headers={"ETag": etag})

    return app


async def test_rejected_central_config_keeps_the_previous_one_and_says_why(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with in_process_collector(engine, settings, clock) as collector:
        identity = await collector.enrol(tmp_path)
    seen: list[str | None] = []
    bad = json.dumps({"checks": {"host": {"check": "host"}, "cam": {"check": "rtsp_probe"}}})
    app = _newer_collector(bad, '"v2"', seen)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
        runner = AgentRunner(
            agent_settings(tmp_path, device_id="quay-1"),
            identity,
            client=client,
            clock=clock,
            config=AgentConfig.model_validate(HOST_ONLY),
        )
        try:
            assert await runner.poll_config() is False
            assert await runner.poll_config() is False
            # One rejection per bad config, not one per poll.
            assert seen == [None, '"v2"']
            assert runner.check_names == ["host"]
            assert runner.state.config_source == "explicit"
            error = runner.state.last_config_error or ""
            assert "checks.cam: unknown check 'rtsp_probe'" in error
            assert '"v2"' in error
            events = [
                event
                for report in runner.spool.pending(10)
                for device in report.devices
                for event in device.events
            ]
            assert [e.type for e in events] == ["agent_config_rejected"]
            assert "rtsp_probe" in events[0].message
        finally:
            runner.close()


class _BrokenConfig(CheckConfig):
    pass


class _BrokenCheck:
    """A check plugin with a bug: it raises instead of reporting."""

    name: ClassVar[str] = "broken"
    config_model: ClassVar[type[CheckConfig]] = _BrokenConfig

    async def collect(self) -> list[DeviceReport]:
        raise RuntimeError("driver exploded")


class _FineCheck:
    name: ClassVar[str] = "fine"
    config_model: ClassVar[type[CheckConfig]] = _BrokenConfig

    async def collect(self) -> list[DeviceReport]:
        sample = Sample(name="cpu_percent", value=12.5)
        return [DeviceReport(device_id="quay-1", kind=DeviceKind.PC, samples=[sample])]


async def test_a_failing_check_is_reported_and_does_not_stop_the_others(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    config = AgentConfig(checks={"a": CheckSpec(check="host"), "b": CheckSpec(check="host")})
    async with in_process_collector(engine, settings, clock) as collector:
        identity = await collector.enrol(tmp_path)
        async with collector.client() as client:
            runner = AgentRunner(
                agent_settings(tmp_path, device_id="quay-1"),
                identity,
                client=client,
                clock=clock,
                config=config,
                check_factory=lambda name, _spec: _BrokenCheck() if name == "a" else _FineCheck(),
            )
            try:
                runs = {run.name: run for run in await runner.run_checks_once()}
                assert runs["a"].error == "RuntimeError: driver exploded"
                assert runs["b"].ok
                assert runner.state.check_errors == {"a": "RuntimeError: driver exploded"}
                heartbeat = runner.heartbeat()
                assert (await runner.send_pending()).error is None
            finally:
                runner.close()
    rows = journal_rows(engine, identity.agent_id)
    events = [e for _, _, r in rows for d in r.devices for e in d.events]
    assert [(e.type, e.attrs["check"]) for e in events] == [("agent_check_failed", "a")]
    success = {
        s.labels["check"]: s.value
        for s in heartbeat.devices[0].samples
        if s.name == "agent_check_success"
    }
    assert success == {"a": 0.0, "b": 1.0}


async def test_a_batch_too_large_for_the_collector_is_halved_until_it_fits(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    small = settings.model_copy(update={"max_body_bytes": 600})
    async with (
        in_process_collector(engine, small, clock) as collector,
        agent_on(collector, tmp_path, clock) as (runner, link),
    ):
        for _ in range(40):
            runner.heartbeat()
            clock.advance(30)
        spooled = runner.spool.pending(1_000)
        outcome = await runner.send_pending()
        while outcome.error is not None and "HTTP 413" in outcome.error:
            assert outcome.retry_in == 0.0
            outcome = await runner.send_pending()
        assert outcome.error is None
        assert 413 in link.statuses
        assert runner.sender.batch_size < 200
        assert_exactly_once(engine, runner.identity.agent_id, spooled)


class _HungCheck:
    """A check that never answers (a hung driver or a stuck WMI call)."""

    name: ClassVar[str] = "hung"
    config_model: ClassVar[type[CheckConfig]] = _BrokenConfig

    async def collect(self) -> list[DeviceReport]:
        await asyncio.Event().wait()
        return []


async def test_a_hung_check_times_out_and_is_reported(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    config = AgentConfig(
        checks={
            "stuck": CheckSpec(check="host", interval_seconds=0.05),
            "ok": CheckSpec(check="host", interval_seconds=0.05),
        }
    )
    async with in_process_collector(engine, settings, clock) as collector:
        identity = await collector.enrol(tmp_path)
        async with collector.client() as client:
            runner = AgentRunner(
                agent_settings(tmp_path, device_id="quay-1", check_timeout_seconds=0.05),
                identity,
                client=client,
                clock=clock,
                config=config,
                check_factory=lambda name, _spec: _HungCheck() if name == "stuck" else _FineCheck(),
            )
            try:
                runs = {run.name: run for run in await runner.run_checks_once()}
            finally:
                runner.close()
    assert runs["stuck"].error_class == "timeout"
    assert runs["stuck"].error == "did not finish within 0.05 s"
    assert runs["ok"].ok
