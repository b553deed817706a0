"""The report form in a real Chromium (Debian's, driven by Playwright) against uvicorn: finance
logs in, chooses March 2026, downloads the XLSX and reads it with openpyxl; then the PDF."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine

from collector.settings import Settings
from tests.alerts.report_world import build_report_world
from tests.web.support import Province
from tests.web.test_browser import _login, _page, _shot, chromium, server, store

__all__ = ["chromium", "server", "store"]  # the browser fixtures, shared with test_browser.py

pytestmark = pytest.mark.slow


@pytest.fixture
def province(store: tuple[Settings, Engine], tmp_path: Path) -> Province:
    """March's tickets (tests/alerts/report_world.py) behind the served console."""
    return build_report_world(store[1], tmp_path).province


def test_finance_chooses_a_month_and_downloads_the_xlsx_and_pdf(
    chromium: Any, server: str, province: Province, tmp_path: Path
) -> None:
    page = _page(chromium)
    _login(page, server, "finance")
    page.click("nav >> text=Báo cáo")
    page.wait_for_load_state()
    assert page.url.startswith(f"{server}/web/reports")
    page.select_option("select[name=kind]", "month")
    page.fill("input[name=month]", "2026-03")
    page.click("#show-report")
    page.wait_for_load_state()
    summary = page.locator("#report-summary")
    assert summary.get_attribute("data-period") == "2026-03"
    assert "Phường Châu Sơn" in page.locator("#report-top").inner_text()
    _shot(page, "reports-vi")
    page.select_option("select[name=format]", "xlsx")
    with page.expect_download() as info:
        page.click("#download-report")
    assert info.value.suggested_filename == "bao-cao-2026-03.xlsx"
    target = tmp_path / "report.xlsx"
    info.value.save_as(target)
    book = load_workbook(io.BytesIO(target.read_bytes()), read_only=True)
    rows = list(book["Ngừng lâu nhất"].iter_rows(values_only=True))
    assert rows[1][1:3] == (province.cut, "Phường Châu Sơn")
    owners = {row[0]: row for row in book["SLA theo đơn vị"].iter_rows(values_only=True)}
    assert owners["isp"][6] == 1  # the ISP's late response: one breach
    page.select_option("select[name=format]", "pdf")
    with page.expect_download() as info:
        page.click("#download-report")
    pdf = tmp_path / "report.pdf"
    info.value.save_as(pdf)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Tổ CNTT Sở Khoa học và Công nghệ" in text
    page.context.close()
