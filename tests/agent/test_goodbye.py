"""Agents say goodbye (issue 19): the service's start and clean stop against real components.

The collector is the real app in-process (its journal on SQLite and PostgreSQL) behind a ``Link``
that can be cut, or a loopback port where nobody answers; the spool and the state file are the
agent's own on disk. The stop probe and the boot time are injected, so every reason is driven
without touching the OS, and the clock is a FakeClock. Only the stop budget runs on real time:
it is the bound under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from agent.agent_config import AgentConfig, CheckSpec
from agent.checks.base import CheckConfig
from agent.collector_client import UrllibCollectorClient
from agent.identity import Identity, load_identity
from agent.lifecycle import StopReason, StopRequest, StopTrigger
from agent.service_loop import AgentService
from agent.settings import tls_context
from agent.state import load_state
from agent.wire import DeviceReport, Event, Report
from collector.settings import Settings
from tests.agent.checks.helpers import assert_catalogued, silent_listener
from tests.agent.support import InProcessCollector, Link, agent_settings, in_process_collector
from tests.agent.support import journal_rows as journal
from tests.fakes import FakeClock
from tests.services import free_port

NO_CHECKS = AgentConfig(checks={})
# The PC was switched on at 07:58 in Hà Nội; the FakeClock starts at 08:00 and the day ends 17:05.
BOOT = datetime(2026, 3, 2, 0, 58, tzinfo=UTC)
WORKING_DAY = 9 * 3600 + 5 * 60


def events(reports: list[Report], kind: str | None = None) -> list[tuple[int, Event]]:
    """(seq, event) of every event of ``reports``, or of those of type ``kind``."""
    return [
        (report.seq, event)
        for report in reports
        for device in report.devices
        for event in device.events
        if kind is None or event.type == kind
    ]


class Probe:
    """An injected stop probe: answers ``reason`` and remembers the triggers it was asked."""

    def __init__(self, reason: StopReason = StopReason.SERVICE_STOP) -> None:
        self.reason = reason
        self.triggers: list[StopTrigger] = []

    def __call__(self, trigger: StopTrigger) -> StopReason:
        self.triggers.append(trigger)
        return self.reason


def service(data_dir: Path, identity: Identity, clock: FakeClock, client: Any, **kw: Any) -> Any:
    """An AgentService on ``data_dir`` with an injected probe and boot time (overridable)."""
    settings = {key: kw.pop(key) for key in list(kw) if key in {"stop_send_seconds"}}
    return AgentService(
        agent_settings(data_dir, device_id="quay-1", send_delay_seconds=0, **settings),
        identity,
        client=client,
        clock=clock,
        config=kw.pop("config", NO_CHECKS),
        stop_probe=kw.pop("stop_probe", Probe()),
        boot_time=kw.pop("boot_time", BOOT.timestamp),
        **kw,
    )


@contextlib.asynccontextmanager
async def service_on(
    collector: InProcessCollector, data_dir: Path, clock: FakeClock, *, enrol: bool, **kw: Any
) -> AsyncIterator[tuple[AgentService, Link]]:
    """An enrolled agent service talking to ``collector`` through a Link it can cut."""
    identity = (
        await collector.enrol(data_dir) if enrol else load_identity(data_dir / "identity.json")
    )
    link = Link(collector.transport)
    async with collector.client(link) as client:
        agent = service(data_dir, identity, clock, client, **kw)
        try:
            yield agent, link
        finally:
            agent.close()


def offline_identity(server_url: str) -> Identity:
    """An identity for a collector at ``server_url`` (none is needed where nothing is acked)."""
    return Identity(
        agent_id="ag_quay1",
        agent_token=SecretStr("agt_not_a_real_token"),
        server_url=server_url,
        commune_code="14281",
        enrolled_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


@contextlib.contextmanager
def offline_service(data_dir: Path, clock: FakeClock, url: str, **kw: Any) -> Iterator[Any]:
    """An AgentService sending with the service's own client to ``url``."""
    identity = offline_identity(url)
    settings = agent_settings(data_dir)
    client = UrllibCollectorClient(url, ssl_context=tls_context(settings), timeout=30)
    agent = service(data_dir, identity, clock, client, **kw)
    try:
        yield agent
    finally:
        agent.close()


def nobody_listens() -> str:
    return f"http://127.0.0.1:{free_port()}"


async def test_a_clean_stop_sends_the_goodbye_last_before_the_agent_exits(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        in_process_collector(engine, settings, clock) as collector,
        service_on(collector, tmp_path, clock, enrol=True) as (agent, _link),
    ):
        agent_id = agent.identity.agent_id
        agent.record_start()
        clock.advance(WORKING_DAY - 1)
        agent.heartbeat()
        clock.advance(1)  # 17:05: the counter PC is switched off

        goodbye = await agent.shutdown(StopTrigger.TERMINATE)

        assert goodbye.sent
        assert goodbye.reason is StopReason.SERVICE_STOP
        assert agent.spool.stats().depth == 0
    rows = journal(engine, agent_id)
    reports = [report for _, _, report in rows]
    # Sent before the stop returned, as the last report by sequence and by measured time.
    assert [seq for seq, _, _ in rows] == [1, 2, 3]
    assert reports[-1] == goodbye.report
    assert reports[-1].measured_at == max(r.measured_at for r in reports) == clock.now()
    [(_, event)] = events([reports[-1]])
    assert event.type == "agent_stopping"
    assert event.severity == "info"
    assert event.message == "commune-agent stopping (service_stop)"
    # The OS uptime at the stop: booted 07:58, stopping 17:05.
    assert event.attrs == {"reason": "service_stop", "uptime_seconds": str(WORKING_DAY + 120)}
    # On the heartbeat's device.
    assert reports[-1].devices[0].device_id == reports[1].devices[0].device_id == "quay-1"
    assert_catalogued([device for report in reports for device in report.devices])
    state = load_state(tmp_path / "state.json")
    assert (state.stopped_at, state.stop_reason) == (clock.now(), "service_stop")


async def test_an_unreachable_collector_keeps_the_goodbye_for_the_next_start(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with in_process_collector(engine, settings, clock) as collector:
        async with service_on(collector, tmp_path, clock, enrol=True) as (agent, link):
            agent_id = agent.identity.agent_id
            link.up = False  # the commune's link went down in the afternoon
            agent.record_start()
            clock.advance(600)
            agent.heartbeat()
            clock.advance(600)
            goodbye = await agent.shutdown(StopTrigger.TERMINATE)
            assert not goodbye.sent
            assert link.requests == []
            spooled = agent.spool.pending(100)
            # The goodbye is the last report in the spool.
            assert [r.seq for r in spooled] == [1, 2, 3]
            assert spooled[-1] == goodbye.report
        assert journal(engine, agent_id) == []

        clock.advance(15 * 3600)  # the next morning
        async with service_on(collector, tmp_path, clock, enrol=False) as (agent, link):
            started = agent.record_start()
            outcome = await agent.send_pending()
            assert outcome.error is None
            assert agent.spool.stats().depth == 0
    rows = journal(engine, agent_id)
    # In order, after the reports measured before it, and before the new day's start.
    assert [seq for seq, _, _ in rows] == [1, 2, 3, 4]
    assert [report for _, _, report in rows] == [*spooled, started]
    kinds = [event.type for _, event in events([report for _, _, report in rows])]
    assert kinds == ["agent_started", "agent_stopping", "agent_started"]
    [(_, hello)] = events([started])
    assert hello.attrs["previous_stop"] == "clean"


@pytest.mark.parametrize(
    ("trigger", "reason"),
    [
        (StopTrigger.TERMINATE, StopReason.SHUTDOWN),
        (StopTrigger.TERMINATE, StopReason.REBOOT),
        (StopTrigger.TERMINATE, StopReason.SERVICE_STOP),
        (StopTrigger.INTERRUPT, StopReason.INTERRUPTED),
    ],
)
async def test_the_goodbye_carries_the_reason_the_probe_gives(
    tmp_path: Path, trigger: StopTrigger, reason: StopReason
) -> None:
    clock = FakeClock()
    probe = Probe(reason)
    with offline_service(tmp_path, clock, nobody_listens(), stop_probe=probe) as agent:
        stop = StopRequest()
        stop.request(trigger)
        await agent.run(stop)  # starts, finds the stop asked for, stops cleanly
        spooled = agent.spool.pending(100)
    # The probe was asked with what stopped the service (the signal it was).
    assert probe.triggers == [trigger]
    goodbye = spooled[-1]
    [(_, event)] = events([goodbye])
    assert event.type == "agent_stopping"
    assert event.attrs["reason"] == reason.value
    assert event.message == f"commune-agent stopping ({reason.value})"
    assert events(spooled, "agent_started")[0][0] == 1
    assert load_state(tmp_path / "state.json").stop_reason == reason.value


async def test_previous_stop_is_first_start_then_clean_then_unclean(tmp_path: Path) -> None:
    clock = FakeClock()
    url = nobody_listens()

    def previous(report: Report) -> str:
        [(_, event)] = events([report])
        return event.attrs["previous_stop"]

    with offline_service(tmp_path, clock, url) as agent:
        first = agent.record_start()
        clock.advance(3600)
        await agent.shutdown(StopTrigger.TERMINATE)
    clock.advance(3600)
    with offline_service(tmp_path, clock, url) as agent:
        second = agent.record_start()
        clock.advance(3600)
        agent.heartbeat()
        # Killed here (kill -9, a crash, the power cut): no shutdown, no goodbye.
    clock.advance(3600)
    with offline_service(tmp_path, clock, url) as agent:
        third = agent.record_start()
        spooled = agent.spool.pending(100)
    assert [previous(r) for r in (first, second, third)] == ["first_start", "clean", "unclean"]
    # Every start carries the OS boot time and uptime; none is lost across the restarts.
    uptimes = []
    for report in (first, second, third):
        [(_, event)] = events([report])
        assert event.attrs["boot_time"] == "2026-03-02T00:58:00+00:00"
        uptimes.append(event.attrs["uptime_seconds"])
    assert uptimes == ["120", str(120 + 2 * 3600), str(120 + 4 * 3600)]
    kinds = [event.type for _, event in events(spooled)]
    assert kinds == ["agent_started", "agent_stopping", "agent_started", "agent_started"]
    assert load_state(tmp_path / "state.json").previous_stop == "unclean"


async def test_a_hanging_collector_does_not_delay_the_stop_beyond_the_budget(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    with (
        silent_listener() as port,
        offline_service(
            tmp_path, clock, f"http://127.0.0.1:{port}", stop_send_seconds=0.6
        ) as agent,
    ):
        agent.record_start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        goodbye = await agent.shutdown(StopTrigger.TERMINATE)
        took = loop.time() - started
        # The send was under way (the collector took the connection) and was given up at the
        # budget, not at the client's 30 s timeout.
        assert 0.5 <= took < 1.6
        assert not goodbye.sent
        assert agent.spool.pending(100)[-1] == goodbye.report


class _Config(CheckConfig):
    pass


class _HungCheck:
    """A check that never answers (a stuck WMI call), and says when it started."""

    name: ClassVar[str] = "hung"
    config_model: ClassVar[type[CheckConfig]] = _Config

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def collect(self) -> list[DeviceReport]:
        self.started.set()
        await asyncio.Event().wait()
        return []


async def test_a_check_hung_at_the_stop_is_cancelled_so_the_goodbye_is_last(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    hung = _HungCheck()
    config = AgentConfig(checks={"wmi": CheckSpec(check="host", interval_seconds=3600)})
    with offline_service(
        tmp_path,
        clock,
        nobody_listens(),
        config=config,
        check_factory=lambda _name, _spec: hung,
        stop_send_seconds=0.6,
    ) as agent:
        stop = StopRequest()
        loop = asyncio.get_running_loop()
        with caplog.at_level(logging.INFO):
            running = loop.create_task(agent.run(stop))
            await asyncio.wait_for(hung.started.wait(), 10)
            started = loop.time()
            stop.request(StopTrigger.TERMINATE)
            await asyncio.wait_for(running, 10)
        took = loop.time() - started
        spooled = agent.spool.pending(100)
    assert took < 1.6
    assert [event.type for _, event in events(spooled)][-1] == "agent_stopping"
    assert spooled[-1].seq == max(r.seq for r in spooled)
    assert "check cancelled by the stop" in caplog.text
    # The cancelled run ends quietly, not as a job that "raised an exception".
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "apscheduler" in r.name
    ]


async def test_the_start_without_a_readable_boot_time_still_says_hello(tmp_path: Path) -> None:
    clock = FakeClock()
    with offline_service(tmp_path, clock, nobody_listens(), boot_time=lambda: None) as agent:
        started = agent.record_start()
        goodbye = await agent.shutdown(StopTrigger.DEADLINE)
    [(_, hello)] = events([started])
    assert hello.attrs["previous_stop"] == "first_start"
    assert "boot_time" not in hello.attrs
    assert events([goodbye.report])[0][1].attrs == {"reason": "service_stop"}
    assert goodbye.report.measured_at == clock.now()
