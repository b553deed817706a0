"""The demo's mail (province/demo_mail.py, web/mailbox.py, web/routes/mailbox.py) on both stores:
the collector's own dispatcher sends over SMTP to the local sink, the "Hộp thư" page shows each
owner's messages, and a message's acknowledge link works."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from collector.settings import Settings
from province.app import create_app
from province.demo_mail import HOST, MAILDIR, MailSink, mount_mailbox
from province.service import ProvinceService, build_service
from tests.alerts.support import HEARTBEAT
from tests.web.support import BASE, Province, build_province, login
from web.mailbox import read_maildir


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    started = MailSink(tmp_path / MAILDIR).start()
    yield started
    started.stop()


@pytest.fixture
def province(engine: Engine, tmp_path: Path) -> Province:
    return build_province(engine, tmp_path)


@pytest.fixture
def service(settings: Settings, province: Province, sink: MailSink) -> ProvinceService:
    settings = settings.model_copy(
        update={
            "alerts_routing_file": province.routing_file,
            "run_processor": False,
            "heartbeat_seconds": HEARTBEAT,
            "public_url": BASE,
            **sink.settings(),
        }
    )
    return build_service(settings, clock=province.world.clock, engine=province.world.engine)


@pytest.fixture
async def http(service: ProvinceService, sink: MailSink) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service)
    mount_mailbox(app, service, sink)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def test_each_owner_box_shows_what_it_received_and_its_links_work(
    http: httpx.AsyncClient, service: ProvinceService, sink: MailSink, province: Province
) -> None:
    assert sink.settings()["smtp_host"] == HOST
    assert service.alerting is not None
    assert service.alerting.dispatcher.deliver_due().sent >= 3
    mails = read_maildir(sink.maildir)
    assert len(mails) >= 3
    isp_ticket = province.ticket_ids("isp")[0]
    isp_mail = next(m for m in mails if "noc@isp.example.vn" in m.to)
    assert isp_mail.subject.startswith(f"[opened] #{isp_ticket} ")
    assert "Mất kết nối" in isp_mail.subject  # RFC 2047 decoded
    assert [label.split(" / ")[1] for label, _ in isp_mail.links] == [
        "Acknowledge (no login needed)",
        "Resolve with a note",
    ]
    await login(http, "admin")
    page = await http.get("/web/mailbox")
    assert page.status_code == 200
    boxes = set(re.findall(r'data-box="([^"]+)"', page.text))
    assert {address for mail in mails for address in mail.to} == boxes
    assert 'href="/web/mailbox"' in page.text  # in the menu of this page
    isp_box = await http.get("/web/mailbox", params={"to": "noc@isp.example.vn"})
    assert "isp-tech" in isp_box.text  # the owner's console user reads this box
    ack_url = isp_mail.links[0][1]
    assert ack_url in isp_box.text
    path = ack_url.removeprefix(BASE)
    http.cookies.clear()  # the link needs no login
    assert (await http.get(path)).status_code == 200
    done = await http.post(path)
    assert done.status_code == 200
    assert province.ticket_state(isp_ticket) == "acknowledged"
    # A vendor technician sees their contract's box only.
    await login(http, "isp-tech")
    own = await http.get("/web/mailbox")
    assert set(re.findall(r'data-box="([^"]+)"', own.text)) == {"noc@isp.example.vn"}
    http.cookies.clear()
    await login(http, "finance")
    assert (await http.get("/web/mailbox")).status_code == 403
