"""The people's side of issue 22 in a real Chromium (Debian's, driven by Playwright) against a real
uvicorn collector on 127.0.0.1 whose e-mail goes to the demo's local SMTP sink: the report form,
the "Hộp thư" page and the pages behind a message's answer links.

Screenshots go to test-output/web/; the assertions are on the pages and on the store.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, select

from alerts.schema import reports, ticket_history
from collector.settings import Settings
from province.app import create_app
from province.demo_mail import MAILDIR, MailSink, mount_mailbox
from province.service import ProvinceService, build_service
from tests.alerts.support import HEARTBEAT
from tests.services import free_port
from tests.web.support import PASSWORD, Province, build_province
from tests.web.test_browser import PHONE, _login, _page, _shot, chromium, store
from web import accounts
from web.accounts import Role
from web.mailbox import read_maildir

__all__ = ["chromium", "store"]  # the browser fixtures, shared with test_browser.py

pytestmark = pytest.mark.slow


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    started = MailSink(tmp_path / MAILDIR).start()
    yield started
    started.stop()


@pytest.fixture
def province(store: tuple[Settings, Engine], tmp_path: Path) -> Province:
    built = build_province(store[1], tmp_path)
    now = built.world.clock.now()
    accounts.create_user(store[1], "can-bo", PASSWORD, Role.COMMUNE, now, communes=[built.cut])
    return built


@pytest.fixture
def served(
    store: tuple[Settings, Engine], province: Province, sink: MailSink
) -> Iterator[tuple[str, ProvinceService]]:
    """The collector with its console and mailbox under uvicorn; (base URL, its service)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = store[0].model_copy(
        update={
            "alerts_routing_file": province.routing_file,
            "run_processor": False,
            "heartbeat_seconds": HEARTBEAT,
            "public_url": base,
            **sink.settings(),
        }
    )
    service = build_service(settings, clock=province.world.clock, engine=province.world.engine)
    app = create_app(service)
    mount_mailbox(app, service, sink)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="people-server", daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(500):  # bounded: at most 10 s
        if server.started:
            break
        started.wait(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield base, service
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_commune_staff_report_a_problem_on_a_phone(
    chromium: Any, served: tuple[str, ProvinceService], province: Province, store: Any
) -> None:
    base, _service = served
    page = _page(chromium, PHONE)
    _login(page, base, "can-bo")
    assert page.url == f"{base}/web/tickets"
    page.click("#new-report")
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Their one commune is chosen already.
    assert page.locator("select[name=commune_code]").input_value() == province.cut
    page.check("input[name=category][value=cannot_scan]")
    page.fill("textarea[name=description]", "Máy quét không nhận giấy")
    page.fill("input[name=counter]", "Quầy 2")
    page.fill("input[name=reporter_name]", "Hoàng Văn Nam")
    page.fill("input[name=reporter_phone]", "09x")  # the browser accepts it; the server not
    _shot(page, "report-form-phone")
    page.click("#send-report")
    page.wait_for_load_state()
    error = page.locator("#report-error")
    assert error.get_attribute("data-field") == "reporter_phone"
    assert "reporter_phone" in error.inner_text()
    assert page.locator("textarea[name=description]").input_value() == "Máy quét không nhận giấy"
    page.fill("input[name=reporter_phone]", "0912 345 678")
    page.click("#send-report")
    page.wait_for_load_state()
    done = page.locator("#report-done")
    ticket = int(done.get_attribute("data-ticket") or 0)
    assert f"Đã tạo phiếu #{ticket}." in done.inner_text()
    _shot(page, "report-done-phone")
    page.click(f"a[href='/web/tickets/{ticket}']")
    page.wait_for_load_state()
    assert "Hoàng Văn Nam" in page.locator("#reports").inner_text()
    assert page.locator("#runbook .runbook-staff li").count() >= 1
    with store[1].connect() as conn:
        stored = conn.execute(select(reports.c.reporter_phone, reports.c.actor)).one()
    assert tuple(stored) == ("0912345678", "can-bo")
    page.context.close()


def test_a_technician_acknowledges_from_the_mailbox_once(
    chromium: Any, served: tuple[str, ProvinceService], province: Province
) -> None:
    base, service = served
    assert service.alerting is not None
    assert service.alerting.dispatcher.deliver_due().sent >= 3
    outage = province.ticket_ids("isp")[0]
    page = _page(chromium)
    _login(page, base, "isp-tech")
    page.goto(f"{base}/web/mailbox")
    assert page.locator("li[data-box]").count() == 1  # their contract's box only
    mail = page.locator("li.mail").first
    assert f"#{outage}" in mail.locator("h3").inner_text()
    _shot(page, "mailbox")
    link = mail.locator(".answer-links a").first
    href = link.get_attribute("href") or ""
    assert re.match(rf"{base}/web/a/\S+$", href)
    link.click()
    page.wait_for_load_state()
    assert page.locator("#link").get_attribute("data-action") == "ack"
    assert province.ticket_state(outage) == "open"  # opening it changed nothing
    _shot(page, "link-ack")
    page.click("#confirm")
    page.wait_for_load_state()
    assert f"Đã nhận xử lý phiếu #{outage}" in page.locator("h1").inner_text()
    assert province.ticket_state(outage) == "acknowledged"
    # The same link again: a clear page, Vietnamese then English, nothing changed.
    page.goto(href)
    refused = page.locator("#link-refused")
    assert refused.get_attribute("data-reason") == "used"
    assert "Liên kết đã được dùng" in page.locator("h1").inner_text()
    assert "This link was already used" in refused.inner_text()
    _shot(page, "link-used")
    answer = page.goto(href.replace("/web/a/", "/web/a/x"))
    assert answer is not None
    assert answer.status == 400
    assert page.locator("#link-refused").get_attribute("data-reason") == "altered"
    page.context.close()


def test_a_resolve_link_takes_a_note_and_an_expired_link_changes_nothing(
    chromium: Any, served: tuple[str, ProvinceService], province: Province, sink: MailSink
) -> None:
    _base, service = served
    assert service.alerting is not None
    assert service.alerting.dispatcher.deliver_due().sent >= 3
    mails = [mail for mail in read_maildir(sink.maildir) if len(mail.links) == 2]
    assert len(mails) >= 2, [mail.subject for mail in read_maildir(sink.maildir)]
    first = mails[0]
    resolved = int(re.findall(r"#(\d+) ", first.subject)[0])
    second = next(mail for mail in mails if f"#{resolved} " not in mail.subject)
    untouched = int(re.findall(r"#(\d+) ", second.subject)[0])
    resolve = next(url for label, url in first.links if "Resolve" in label)
    page = _page(chromium, PHONE)  # no login: the technician's phone
    page.goto(resolve)
    assert page.locator("#link").get_attribute("data-action") == "resolve"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.fill("textarea[name=note]", "Đã thay hộp mực, in thử được")
    _shot(page, "link-resolve-phone")
    page.click("#confirm")
    page.wait_for_load_state()
    assert f"Đã đóng phiếu #{resolved}" in page.locator("h1").inner_text()
    assert province.ticket_state(resolved) == "resolved"
    with province.world.engine.connect() as conn:
        note = conn.execute(
            select(ticket_history.c.note)
            .where(ticket_history.c.ticket_id == resolved, ticket_history.c.action == "resolved")
            .order_by(ticket_history.c.id.desc())
        ).first()
    assert note is not None
    assert note[0] == "Đã thay hộp mực, in thử được"
    # 72 hours after the message was sent the other message's link is refused, changing nothing.
    before = province.ticket_state(untouched)
    province.world.clock.advance(72 * 3600 + 1)
    ack = next(url for label, url in second.links if "Acknowledge" in label)
    answer = page.goto(ack)
    assert answer is not None
    assert answer.status == 410
    refused = page.locator("#link-refused")
    assert refused.get_attribute("data-reason") == "expired"
    assert "Liên kết đã hết hạn" in page.locator("h1").inner_text()
    assert "This link has expired" in refused.inner_text()
    _shot(page, "link-expired-phone")
    assert province.ticket_state(untouched) == before
    page.context.close()
