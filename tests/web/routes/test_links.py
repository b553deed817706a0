"""The pages behind the answer links (web/routes/links.py) over HTTP on both stores: no login,
opening changes nothing, the button acts once, every refusal is a clear page in both languages."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import Engine, select

from alerts.link_tokens import ActionLinks, load_link_secret
from collector.schema import audit_log
from collector.settings import Settings
from tests.web.support import Province


def _links(settings: Settings) -> ActionLinks:
    # The collector's own key: the setting, else the data folder's key file.
    return ActionLinks(load_link_secret(None, settings.data_dir), settings.public_url)


def _path(links: ActionLinks, token: str) -> str:
    return links.url(token).removeprefix(links.public_url)


async def test_an_ack_link_shows_then_acts_once_without_a_login(
    http: httpx.AsyncClient, province: Province, settings: Settings, engine: Engine
) -> None:
    ticket = province.ticket_ids("isp")[0]
    links = _links(settings)
    now = province.world.clock.now()
    path = _path(links, links.sign(ticket, "ack", "isp/email", now))
    shown = await http.get(path)
    assert shown.status_code == 200
    assert 'id="confirm"' in shown.text
    assert "Nhận xử lý" in shown.text
    assert "Acknowledge" in shown.text
    assert province.ticket_state(ticket) == "open"  # a mail scanner's visit changes nothing
    done = await http.post(path)
    assert done.status_code == 200
    assert f"Đã nhận xử lý phiếu #{ticket}" in done.text
    assert f"Ticket #{ticket} acknowledged" in done.text
    assert province.ticket_state(ticket) == "acknowledged"
    again = await http.post(path)
    assert again.status_code == 409
    assert "Liên kết đã được dùng" in again.text
    assert "This link was already used" in again.text
    assert (await http.get(path)).status_code == 409
    with engine.connect() as conn:
        lines = conn.execute(
            select(audit_log.c.action, audit_log.c.actor).where(
                audit_log.c.target == f"ticket:{ticket}"
            )
        ).all()
    assert [(line.action, line.actor) for line in lines] == [("ticket_ack", "link:isp/email")]


async def test_a_resolve_link_takes_a_note(
    http: httpx.AsyncClient, province: Province, settings: Settings
) -> None:
    ticket = province.ticket_ids("printer-vendor")[0]
    links = _links(settings)
    path = _path(
        links, links.sign(ticket, "resolve", "printer-vendor/email", province.world.clock.now())
    )
    page = await http.get(path)
    assert 'name="note"' in page.text
    done = await http.post(path, data={"note": "Đã thay trục kéo giấy"})
    assert done.status_code == 200
    assert province.ticket_state(ticket) == "resolved"


async def test_expired_altered_and_moved_links_explain_and_change_nothing(
    http: httpx.AsyncClient, province: Province, settings: Settings
) -> None:
    ticket = province.ticket_ids("isp")[0]
    links = _links(settings)
    now = province.world.clock.now()
    expired = _path(links, links.sign(ticket, "ack", "isp/email", now - timedelta(hours=73)))
    good = links.sign(ticket, "ack", "isp/email", now)
    payload, mac = good.split(".")
    altered = _path(links, f"{payload[:-2]}AA.{mac}")
    moved = _path(links, links.sign(ticket, "ack", "printer-vendor/email", now))
    other_key = ActionLinks(b"z" * 32, settings.public_url)
    foreign = _path(other_key, other_key.sign(ticket, "ack", "isp/email", now))
    cases = (
        (expired, 410, "Liên kết đã hết hạn", "This link has expired"),
        (altered, 400, "Liên kết không hợp lệ", "This link is not valid"),
        (foreign, 400, "Liên kết không hợp lệ", "This link is not valid"),
    )
    for path, status, vi, en in cases:
        for answer in (await http.get(path), await http.post(path)):
            assert answer.status_code == status, path
            assert vi in answer.text
            assert en in answer.text
            assert answer.text.index(vi) < answer.text.index(en)  # Vietnamese first
            assert "Không có gì thay đổi." in answer.text
    refused = await http.post(moved)
    assert refused.status_code == 409
    assert "Phiếu đã chuyển đơn vị khác" in refused.text
    assert province.ticket_state(ticket) == "open"
