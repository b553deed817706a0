"""The report page (web/routes/reports.py) over HTTP on both stores: who may see it, the summary of
the chosen period, the XLSX and PDF downloads read back (diacritics included), refusals naming
the field, and the audit line of each download."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine, select

from collector.schema import audit_log
from tests.alerts.report_world import build_report_world
from tests.web.support import Province
from tests.web.support import csrf_token as _csrf
from tests.web.support import login as _login


@pytest.fixture
def province(engine: Engine, tmp_path: Path) -> Province:
    """March's tickets (tests/alerts/report_world.py) behind the console."""
    return build_report_world(engine, tmp_path).province


async def _page(http: httpx.AsyncClient, **params: str) -> httpx.Response:
    response = await http.get("/web/reports", params=params)
    assert response.status_code == 200, response.text[:500]
    return response


async def test_dost_and_finance_see_the_summary_vendors_do_not(
    http: httpx.AsyncClient, province: Province
) -> None:
    await _login(http, "isp-tech")
    assert (await http.get("/web/reports")).status_code == 403
    tickets = await http.get("/web/tickets")
    await http.post("/web/logout", data={"csrf_token": _csrf(tickets.text)})
    for user in ("finance", "dost"):
        await _login(http, user)
        page = await _page(http, kind="month", month="2026-03")
        assert 'data-period="2026-03"' in page.text
        assert 'href="/web/reports"' in page.text  # the nav link
        # The world's clock is 2 March: the month is not over, and says so.
        assert "Kỳ báo cáo chưa kết thúc" in page.text
        top = re.search(r'<ol class="counts" id="report-top">(.*?)</ol>', page.text, re.S)
        assert top is not None
        assert f'data-commune="{province.cut}"' in top.group(1)
        assert "Phường Châu Sơn" in top.group(1)
        isp = re.search(r'<tr data-owner="isp">(.*?)</tr>', page.text, re.S)
        assert isp is not None
        assert "0,0 %" in isp.group(1)  # answered late: no response in SLA
        await http.post("/web/logout", data={"csrf_token": _csrf(page.text)})


async def test_the_default_period_is_last_month_and_a_quarter_can_be_chosen(
    http: httpx.AsyncClient,
) -> None:
    await _login(http, "finance")
    default = await _page(http)
    assert 'data-period="2026-02"' in default.text  # on 2 March, February is reported
    quarter = await _page(http, kind="quarter", quarter="2026-Q1")
    assert 'data-period="2026-Q1"' in quarter.text
    assert "quý I/2026" in quarter.text


async def test_downloads_read_back_with_every_diacritic(
    http: httpx.AsyncClient, province: Province, engine: Engine
) -> None:
    await _login(http, "finance")
    page = await _page(http, kind="month", month="2026-03")
    form = {"csrf_token": _csrf(page.text), "kind": "month", "month": "2026-03", "quarter": ""}
    xlsx = await http.post("/web/reports/file", data={**form, "format": "xlsx"})
    assert xlsx.status_code == 200
    assert 'filename="bao-cao-2026-03.xlsx"' in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert book.sheetnames == [
        "Báo cáo",
        "Tổng hợp",
        "Ngừng lâu nhất",
        "Sự cố theo loại",
        "SLA theo đơn vị",
        "Theo xã",
    ]
    owners = list(book["SLA theo đơn vị"].iter_rows(values_only=True))
    assert owners[0][1] == "Đơn vị xử lý"
    assert ("so-khcn", "Tổ CNTT Sở Khoa học và Công nghệ") in [row[:2] for row in owners]
    pdf = await http.post("/web/reports/file", data={**form, "format": "pdf"})
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for words in ("Phường Châu Sơn", "Tổ CNTT Sở Khoa học và Công nghệ", "tháng 03/2026"):
        assert words in text, words
    with engine.connect() as conn:
        lines = [(r.actor, r.action, r.target) for r in conn.execute(select(audit_log))]
    assert ("finance", "report_exported", "2026-03") in lines


async def test_bad_input_is_refused_naming_the_field(http: httpx.AsyncClient) -> None:
    await _login(http, "dost")
    bad = await http.get("/web/reports", params={"kind": "month", "month": "2026-13"})
    assert bad.status_code == 422
    assert "month" in bad.text
    page = await _page(http)
    token = _csrf(page.text)
    for data, field in (
        ({"kind": "quarter", "quarter": "2026-Q9", "format": "pdf"}, "quarter"),
        ({"kind": "month", "month": "2026-03", "format": "docx"}, "format"),
        ({"kind": "year", "month": "2026-03", "format": "pdf"}, "kind"),
    ):
        answer = await http.post("/web/reports/file", data={"csrf_token": token, **data})
        assert answer.status_code == 422, data
        assert f"&#39;{field}&#39;" in answer.text or f"'{field}'" in answer.text, answer.text
    no_token = await http.post(
        "/web/reports/file", data={"kind": "month", "month": "2026-03", "format": "pdf"}
    )
    assert no_token.status_code == 403
