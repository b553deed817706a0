"""The collector runs the alert timers on apscheduler while it runs, and stops them after."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from alerts.runtime import _pass_in_thread
from collector.settings import Settings
from province.service import build_service
from tests.fakes import FakeClock


async def test_service_runs_sweep_and_outbox_jobs(settings: Settings, engine: Engine) -> None:
    service = build_service(
        settings, clock=FakeClock(), registry=CollectorRegistry(), engine=engine
    )
    alerting = service.alerting
    assert alerting is not None
    assert alerting.engine in service.processor._consumers
    async with service.running():
        scheduler = alerting._scheduler
        assert scheduler is not None
        assert scheduler.running
        jobs = {job.id: job.trigger.interval.total_seconds() for job in scheduler.get_jobs()}
        assert jobs == {
            "alert-sweep": settings.alerts.sweep_seconds,
            "alert-notify": settings.alerts.notify_seconds,
        }
    assert alerting._scheduler is None


def test_alerting_can_be_switched_off(settings: Settings, engine: Engine) -> None:
    off = settings.model_copy(update={"alerts_enabled": False})
    service = build_service(off, clock=FakeClock(), registry=CollectorRegistry(), engine=engine)
    assert service.alerting is None


async def test_a_pass_cancelled_by_shutdown_is_logged_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Stopping the collector cancels a timer pass whose thread is still sending: that is no
    # crash, and a drill asserts that the log holds no traceback.
    caplog.set_level(logging.INFO, logger="alerts.runtime")
    started, release = threading.Event(), threading.Event()

    def sending() -> None:
        started.set()
        release.wait(10)

    task = asyncio.create_task(_pass_in_thread(sending, "notification dispatch"))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    await task  # returns: nothing raised to apscheduler, which would log it as a crash
    release.set()
    records = [r for r in caplog.records if r.name == "alerts.runtime"]
    message = "notification dispatch interrupted by shutdown; it resumes at the next start"
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.INFO, message)]
    assert all(r.exc_info is None for r in records)


async def test_a_failing_pass_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise RuntimeError("relay answered nonsense")

    await _pass_in_thread(broken, "notification dispatch")
    (record,) = [r for r in caplog.records if r.name == "alerts.runtime"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "notification dispatch failed; retrying at the next run"
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
