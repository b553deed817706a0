"""The demo's "Hộp thư" page (web/routes/mailbox.py): one box per recipient address, named by
the owner whose e-mail channel it is and read by that owner's users; a vendor sees its own."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from collector.settings import Settings
from province.app import create_app
from province.people import people_pages
from province.service import build_service
from tests.alerts.support import HEARTBEAT
from tests.web.support import BASE, Province
from tests.web.support import login as _login
from web.mailbox import Mail
from web.routes import mailbox as mailbox_page

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _mail(key: str, subject: str, *to: str) -> Mail:
    return Mail(key, to, subject, "body", AT, (("Acknowledge", f"{BASE}/web/a/{key}"),))


MAILS = [
    _mail("m3", "[opened] #3 Máy in", "service@printer.example.vn"),
    _mail("m2", "[opened] #2 Mất kết nối", "NOC@isp.example.vn", "cntt@sokhcn.example.gov.vn"),
    _mail("m1", "[opened] #1 Mất kết nối", "noc@isp.example.vn"),
    _mail("m0", "hello", "someone@elsewhere.vn"),
]


@pytest.fixture
async def http(settings: Settings, province: Province) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings.model_copy(
        update={
            "alerts_routing_file": province.routing_file,
            "run_processor": False,
            "heartbeat_seconds": HEARTBEAT,
        }
    )
    service = build_service(settings, clock=province.world.clock, engine=province.world.engine)
    app = create_app(service)
    app.include_router(mailbox_page.router(people_pages(service), lambda: list(MAILS)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def _boxes(html: str) -> list[str]:
    return re.findall(r'data-box="([^"]+)"', html)


async def test_admins_see_every_box_by_address_named_by_its_owner(
    http: httpx.AsyncClient,
) -> None:
    await _login(http, "admin")
    page = await http.get("/web/mailbox")
    assert page.status_code == 200
    # One box per address whatever its case, in order of address.
    assert _boxes(page.text) == [
        "cntt@sokhcn.example.gov.vn",
        "noc@isp.example.vn",
        "service@printer.example.vn",
        "someone@elsewhere.vn",
    ]
    # With no ?to= the first box is open.
    assert re.search(r'id="box-title">[^<]*cntt@sokhcn\.example\.gov\.vn<', page.text)
    isp = await http.get("/web/mailbox", params={"to": "NOC@isp.example.vn"})
    assert re.search(r'id="box-title">[^<]*noc@isp\.example\.vn<', isp.text)
    assert 'data-mail="m2"' in isp.text
    assert 'data-mail="m1"' in isp.text
    assert 'data-mail="m3"' not in isp.text
    assert f'href="{BASE}/web/a/m1"' in isp.text
    # The ISP's box is read by its console user; an address no owner has is named by itself.
    isp_line = re.search(r'<li data-box="noc@isp\.example\.vn".*?</li>', isp.text, re.S)
    assert isp_line is not None
    assert "isp-tech" in isp_line.group(0)
    assert "printer-tech" not in isp_line.group(0)
    other = re.search(r'<li data-box="someone@elsewhere\.vn".*?</li>', isp.text, re.S)
    assert other is not None
    assert "<b>someone@elsewhere.vn</b>" in other.group(0)
    unknown = await http.get("/web/mailbox", params={"to": "nobody@x.vn"})
    assert re.search(r'id="box-title">[^<]*cntt@sokhcn', unknown.text)  # falls back to the first


async def test_a_vendor_sees_its_contracts_box_only(http: httpx.AsyncClient) -> None:
    await _login(http, "printer-tech")
    page = await http.get("/web/mailbox")
    assert page.status_code == 200
    assert _boxes(page.text) == ["service@printer.example.vn"]
    # Asking for another owner's box shows its own instead.
    other = await http.get("/web/mailbox", params={"to": "noc@isp.example.vn"})
    assert 'data-mail="m1"' not in other.text
    assert 'data-mail="m3"' in other.text


async def test_finance_and_visitors_are_refused(http: httpx.AsyncClient) -> None:
    anonymous = await http.get("/web/mailbox")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/web/login?next=")
    await _login(http, "finance")
    assert (await http.get("/web/mailbox")).status_code == 403
