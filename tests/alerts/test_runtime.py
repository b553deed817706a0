"""The collector runs the alert timers on apscheduler while it runs, and stops them after."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector.service import build_service
from collector.settings import Settings
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
            "alert-sweep": settings.alerts_sweep_seconds,
            "alert-notify": settings.alerts_notify_seconds,
        }
    assert alerting._scheduler is None


def test_alerting_can_be_switched_off(settings: Settings, engine: Engine) -> None:
    off = settings.model_copy(update={"alerts_enabled": False})
    service = build_service(off, clock=FakeClock(), registry=CollectorRegistry(), engine=engine)
    assert service.alerting is None
