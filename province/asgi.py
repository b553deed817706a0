"""ASGI entry for several uvicorn workers: each worker builds its collector from the settings.

``commune-monitor serve --workers N`` passes the configuration file through
COMMUNE_MONITOR_CONFIG_FILE and every other setting through the COMMUNE_MONITOR_* variables.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from collector.http_protocol import HeadDeadlineProtocol
from collector.malloc_tuning import limit_malloc_retention
from collector.settings import load_settings
from province.app import create_app
from province.service import build_service


def app_factory() -> FastAPI:
    """Build the application from the environment (one call per worker process)."""
    config_file = os.environ.get("COMMUNE_MONITOR_CONFIG_FILE")
    settings = load_settings(Path(config_file) if config_file else None)
    if settings.malloc_tuning:
        limit_malloc_retention()
    service = build_service(settings)
    HeadDeadlineProtocol.configure(
        settings.http_head_timeout_seconds, service.metrics.head_timeouts.inc
    )
    HeadDeadlineProtocol.configure_head_bound(
        settings.http.max_head_bytes,
        service.metrics.request_bounds.labels(bound="head").inc,
    )
    return create_app(service)
