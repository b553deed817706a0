"""Signed action-link tokens (alerts/link_tokens.py): what a token claims, what is refused, and
the key that signs them."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from alerts.link_tokens import (
    KEY_FILE,
    ActionLinks,
    LinkClaim,
    LinkRefused,
    links_block,
    load_link_secret,
)
from collector.errors import ConfigError
from tests.fakes import FakeClock

KEY = b"k" * 32
PUBLIC = "https://giamsat.example.gov.vn"


def test_a_token_says_what_it_was_signed_for_and_nothing_else_passes() -> None:
    clock = FakeClock()
    links = ActionLinks(KEY, PUBLIC)
    token = links.sign(42, "resolve", "isp/email", clock.now())
    claim = links.read(token)
    assert (claim.ticket_id, claim.action, claim.recipient) == (42, "resolve", "isp/email")
    assert claim.expires_at == clock.now() + timedelta(hours=72)
    assert links.url(token) == f"{PUBLIC}/web/a/{token}"
    assert links.read(links.sign(42, "resolve", "isp/email", clock.now())).link_id != claim.link_id
    payload, mac = token.split(".")
    # Another ticket, action or expiry written into the payload: the MAC no longer matches.
    forged = ActionLinks(b"x" * 32, PUBLIC).sign(43, "resolve", "isp/email", clock.now())
    for bad in (f"{forged.split('.')[0]}.{mac}", f"{payload}.{forged.split('.')[1]}", forged):
        with pytest.raises(LinkRefused) as caught:
            links.read(bad)
        assert caught.value.reason == "altered"
    assert links.links_for(42, "resolved", "isp/email", clock.now()) == {}
    assert set(links.links_for(42, "acknowledged", "isp/email", clock.now())) == {"resolve"}
    with pytest.raises(ConfigError):
        ActionLinks(b"short", PUBLIC)


@given(st.text(max_size=500))
def test_any_text_as_a_token_is_refused_as_altered(text: str) -> None:
    links = ActionLinks(KEY, PUBLIC)
    with pytest.raises(LinkRefused) as caught:
        links.read(text)
    assert caught.value.reason == "altered"


def test_the_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = load_link_secret(None, tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 32
    assert load_link_secret(None, tmp_path / "data") == first  # links survive a restart
    os.chmod(path, 0o644)
    assert load_link_secret(None, tmp_path / "data") == first
    assert path.stat().st_mode & 0o777 == 0o600
    configured = SecretStr("s" * 40)
    assert load_link_secret(configured, tmp_path / "data") == b"s" * 40
    path.write_text("short", encoding="ascii")
    with pytest.raises(ConfigError) as caught:
        load_link_secret(None, tmp_path / "data")
    assert KEY_FILE in str(caught.value)


def test_workers_starting_together_share_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(load_link_secret(None, tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary file left


def test_a_claim_names_the_owner_before_the_channel() -> None:
    claim = LinkClaim("id", 7, "ack", "isp/email", FakeClock().now())
    assert claim.owner == "isp"
    assert LinkClaim("id", 7, "ack", "it", FakeClock().now()).owner == "it"


def test_an_open_ticket_gets_both_links_on_the_public_url() -> None:
    clock = FakeClock()
    links = ActionLinks(KEY, PUBLIC + "/")
    given_links = links.links_for(9, "open", "it/email", clock.now())
    assert list(given_links) == ["ack", "resolve"]
    for action, url in given_links.items():
        assert url.startswith(f"{PUBLIC}/web/a/")
        claim = links.read(url.rsplit("/", 1)[1])
        assert (claim.ticket_id, claim.action, claim.recipient) == (9, action, "it/email")


def test_a_shorter_lifetime_moves_the_expiry() -> None:
    clock = FakeClock()
    links = ActionLinks(KEY, PUBLIC, lifetime=timedelta(minutes=5))
    claim = links.read(links.sign(1, "ack", "it/email", clock.now()))
    assert claim.expires_at == clock.now() + timedelta(minutes=5)


def test_an_overlong_token_is_refused_unread() -> None:
    links = ActionLinks(KEY, PUBLIC)
    token = links.sign(1, "ack", "it/" + "x" * 400, FakeClock().now())
    with pytest.raises(LinkRefused) as caught:
        links.read(token)
    assert caught.value.reason == "altered"


def test_the_links_block_labels_each_link_in_both_languages() -> None:
    assert links_block({}) == []
    lines = links_block({"ack": "https://a", "resolve": "https://r"})
    assert lines == [
        "Nhận xử lý (không cần đăng nhập) / Acknowledge (no login needed):",
        "https://a",
        "Đã xử lý xong, đóng phiếu kèm ghi chú / Resolve with a note:",
        "https://r",
        "(Liên kết dùng một lần, hết hạn sau 72 giờ / single use, valid for 72 hours)",
    ]
