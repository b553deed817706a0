"""``GET /api/v1/reports/monthly|quarterly`` (province/reports_api.py) on both stores: JSON, XLSX
and PDF behind the admin token, 401 without it, 422 naming the bad field."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine

from collector.settings import Settings
from province.app import create_app
from province.reports_api import API, reports_router
from province.service import build_service
from tests.alerts.report_world import ReportWorld, build_report_world
from tests.alerts.support import HEARTBEAT

ADMIN = {"Authorization": "Bearer admin-secret"}


def report_app(settings: Settings, month: ReportWorld) -> FastAPI:
    """The collector's app over March's store, on the world's clock."""
    province = month.province
    settings = settings.model_copy(
        update={
            "alerts_routing_file": province.routing_file,
            "run_processor": False,
            "heartbeat_seconds": HEARTBEAT,
        }
    )
    service = build_service(settings, clock=province.world.clock, engine=province.world.engine)
    app = create_app(service)
    if not any(getattr(route, "path", "") == f"{API}/monthly" for route in app.routes):
        # Until province/app.py mounts it (docs/reports.md): mounted here the same way.
        app.include_router(reports_router(service))
    return app


@pytest.fixture
async def api(
    settings: Settings, engine: Engine, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = report_app(settings, build_report_world(engine, tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
        yield client


async def test_the_month_as_json_xlsx_and_pdf(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{API}/monthly", params={"month": "2026-03"}, headers=ADMIN)).json()
    assert body["period"] == "2026-03"
    assert body["complete"] is False  # the world's clock is 2 March
    assert sum(o["opened"] for o in body["owners"]) == 3
    isp = next(o for o in body["owners"] if o["owner"] == "isp")
    assert isp["response"]["breached"] == 1
    assert body["top_downtime"][0]["name"] == "Phường Châu Sơn"
    xlsx = await api.get(
        f"{API}/monthly", params={"month": "2026-03", "format": "xlsx", "lang": "en"}, headers=ADMIN
    )
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert "SLA per owner" in book.sheetnames
    pdf = await api.get(
        f"{API}/quarterly", params={"quarter": "2026-Q1", "format": "pdf"}, headers=ADMIN
    )
    assert pdf.status_code == 200
    assert 'filename="bao-cao-2026-q1.pdf"' in pdf.headers["content-disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "quý I/2026" in text
    assert "Tổ CNTT Sở Khoa học và Công nghệ" in text


async def test_the_admin_token_is_required(api: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = await api.get(f"{API}/monthly", params={"month": "2026-03"}, headers=headers)
        assert answer.status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("monthly", {"month": "2026-3"}, "month"),
        ("monthly", {}, "month"),
        ("quarterly", {"quarter": "2026-Q0"}, "quarter"),
        ("monthly", {"month": "2026-03", "format": "docx"}, "format"),
        ("monthly", {"month": "2026-03", "lang": "fr"}, "lang"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    api: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    answer = await api.get(f"{API}/{path}", params=params, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["field"] == field
