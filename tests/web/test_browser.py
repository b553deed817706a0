"""The console in a real Chromium (Debian's, driven by Playwright) against a real uvicorn server.

The collector runs on a free loopback port over a SQLite store fed through the real ingest path
(tests/web/support.py). Screenshots of the main pages go to test-output/web/ for a person to
look at; the assertions are on the page and on the store.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from openpyxl import load_workbook
from sqlalchemy import Engine

from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.settings import Settings, load_settings
from province import migrate
from tests.conftest import TEST_PROVINCE
from tests.services import free_port, require_binary
from tests.web.support import PASSWORD, Province, build_province, console_app

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "web"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (no browser download)."""
    executable = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """A migrated SQLite store of the test province (the browser tests need one store only)."""
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        admin_token="admin-secret",
    )
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, TEST_PROVINCE))
    yield settings, engine
    engine.dispose()


@pytest.fixture
def province(store: tuple[Settings, Engine], tmp_path: Path) -> Province:
    return build_province(store[1], tmp_path)


@pytest.fixture
def server(store: tuple[Settings, Engine], province: Province) -> Iterator[str]:
    """The collector with its console served by uvicorn on 127.0.0.1; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        console_app(store[0], province),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(500):  # bounded: at most 10 s
        if server.started:
            started.set()
            break
        started.wait(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _page(chromium: Any, viewport: dict[str, int] = DESKTOP) -> Any:
    context = chromium.new_context(viewport=viewport, locale="vi-VN", accept_downloads=True)
    return context.new_page()


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/web/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_each_role_logs_in_to_its_own_page(chromium: Any, server: str) -> None:
    landing = {
        "admin": ("/web/overview", "Tình trạng các xã, phường"),
        "dost": ("/web/overview", "Tình trạng các xã, phường"),
        "isp-tech": ("/web/tickets", "Phiếu sự cố"),
        "finance": ("/web/fleet", "Tài sản và kế hoạch thay thế"),
    }
    for username, (path, heading) in landing.items():
        page = _page(chromium)
        _login(page, server, username)
        assert page.url == f"{server}{path}", username
        assert page.locator("h1").first.inner_text() == heading
        page.context.close()


def test_overview_shows_the_silent_commune_down_then_in_english(
    chromium: Any, server: str, province: Province
) -> None:
    page = _page(chromium)
    _login(page, server, "dost")
    row = page.locator(f"tr[data-commune='{province.cut}']")
    assert row.get_attribute("data-status") == "down"
    assert "Mất kết nối" in row.inner_text()
    assert page.locator("html").get_attribute("lang") == "vi"
    _shot(page, "overview-vi", full_page=False)
    page.click("text=English")
    page.wait_for_load_state()
    assert page.url.endswith("/web/overview")
    assert page.locator("h1").inner_text() == "Status of the communes"
    assert "Down" in page.locator(f"tr[data-commune='{province.cut}']").inner_text()
    page.click(f"tr[data-commune='{province.other}'] a")
    page.wait_for_load_state()
    assert f"{province.other}-PR" in page.content()
    _shot(page, "commune-en")
    page.context.close()


def test_vendor_acknowledges_comments_and_resolves_on_a_phone(
    chromium: Any, server: str, province: Province
) -> None:
    mine = province.ticket_ids("isp")[0]
    theirs = province.ticket_ids("printer-vendor")[0]
    page = _page(chromium, PHONE)
    _login(page, server, "isp-tech")
    rows = page.locator("li[data-ticket]")
    assert [int(x) for x in rows.evaluate_all("els => els.map(e => e.dataset.ticket)")] == [mine]
    _shot(page, "tickets-phone")
    page.click(f"li[data-ticket='{mine}'] a")
    page.wait_for_load_state()
    # Usable at a phone's width: nothing wider than the screen, the action buttons visible.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("#ack").is_visible()
    _shot(page, "ticket-phone")
    page.click("#ack")
    page.wait_for_load_state()
    assert province.ticket_state(mine) == "acknowledged"
    assert page.locator("#ticket-state").inner_text() == "Đã nhận xử lý"
    page.fill("textarea[name=text]", "Đã liên hệ nhà mạng, đang kiểm tra cáp")
    page.click("#comment")
    page.wait_for_load_state()
    assert "Đã liên hệ nhà mạng, đang kiểm tra cáp" in page.content()
    page.fill("input[name=text]", "Nối lại cáp quang")
    page.click("#resolve")
    page.wait_for_load_state()
    assert province.ticket_state(mine) == "resolved"
    # Another contract's ticket, by guessing its URL or posting to it: not found, unchanged.
    answer = page.goto(f"{server}/web/tickets/{theirs}")
    assert answer is not None
    assert answer.status == 404
    posted = page.request.post(f"{server}/web/tickets/{theirs}/ack", form={"csrf_token": "x"})
    assert posted.status in (403, 404)
    assert province.ticket_state(theirs) == "open"
    page.context.close()


def test_overview_is_usable_at_phone_width(chromium: Any, server: str) -> None:
    page = _page(chromium, PHONE)
    _login(page, server, "dost")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("select[name=status]").is_visible()
    # The status and open-ticket columns fit on the screen without scrolling sideways.
    for column in (2, 5):
        box = page.locator(f"tr[data-commune] td:nth-child({column})").first.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= PHONE["width"], column
    _shot(page, "overview-phone", full_page=False)
    page.context.close()


def test_finance_enters_a_budget_and_downloads_the_plan(
    chromium: Any, server: str, tmp_path: Path
) -> None:
    page = _page(chromium)
    _login(page, server, "finance")
    page.click("td.tag a[href*='-MT-'] >> nth=0")  # a PC: a fixed asset with wear rows
    page.wait_for_load_state()
    assert page.locator("#wear tbody tr").count() > 0
    _shot(page, "asset-vi")
    page.goto(f"{server}/web/fleet")
    page.fill("input[name=budget]", "300.000.000")
    page.click("#make-plan")
    page.wait_for_load_state()
    lines = int(page.locator("#plan-count").inner_text())
    assert lines > 0
    _shot(page, "plan-vi", full_page=False)
    with page.expect_download() as info:
        page.click("#download")
    target = tmp_path / "plan.xlsx"
    info.value.save_as(target)
    book = load_workbook(io.BytesIO(target.read_bytes()), read_only=True)
    rows = [
        row
        for row in book.worksheets[0].iter_rows(values_only=True)
        if any(v is not None for v in row)
    ]
    assert len(rows) - 1 == lines
    page.context.close()


def test_a_form_post_without_the_csrf_token_is_refused(
    chromium: Any, server: str, province: Province
) -> None:
    ticket = province.ticket_ids("isp")[0]
    page = _page(chromium)
    _login(page, server, "admin")
    # The browser's own session cookie goes along; only the token is missing.
    answer = page.request.post(f"{server}/web/tickets/{ticket}/ack", form={"note": "x"})
    assert answer.status == 403
    assert province.ticket_state(ticket) == "open"
    page.context.close()
