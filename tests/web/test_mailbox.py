"""The messages a mail sink received (web/mailbox.py): read back from its Maildir newest first,
decoded, with the answer links each carries labelled by the line before them."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from web.mailbox import answer_links, read_maildir

LINK = "https://cm.example/web/a/abc.DEF-1_2"


def _message(subject: str, body: str, *, to: str = "", rcpt: str = "") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "giamsat@example.gov.vn"
    if to:
        message["To"] = to
    if rcpt:
        message["X-RcptTo"] = rcpt
    message.set_content(body)
    return message


def _deliver(root: Path, key: str, message: EmailMessage) -> None:
    """A message under a key that says when it was delivered, as a Maildir writer names it."""
    (root / "cur" / f"{key}:2,").write_bytes(message.as_bytes())


def test_an_empty_or_missing_maildir_reads_as_no_mail(tmp_path: Path) -> None:
    assert read_maildir(tmp_path / "none") == []


def test_an_empty_maildir_reads_as_no_mail(tmp_path: Path) -> None:
    mailbox.Maildir(tmp_path / "box", create=True)
    assert read_maildir(tmp_path / "box") == []


def test_messages_are_read_newest_first_decoded_and_bounded(tmp_path: Path) -> None:
    mailbox.Maildir(tmp_path / "box", create=True)
    box = tmp_path / "box"
    _deliver(box, "1772413200.M5P1Q1.host", _message("[opened] #1 Mất kết nối", "một", to="a@x.vn"))
    _deliver(
        box,
        "1772413260.M250000P1Q2.host",
        _message("[opened] #2 Máy in báo lỗi", "hai", to="A@x.vn, b@y.vn", rcpt="b@y.vn"),
    )
    _deliver(box, "1772413230.M0P1Q3.host", _message("[ack] #1", "ba", to="a@x.vn"))
    mails = read_maildir(tmp_path / "box")
    assert [m.subject for m in mails] == [
        "[opened] #2 Máy in báo lỗi",
        "[ack] #1",
        "[opened] #1 Mất kết nối",
    ]
    newest = mails[0]
    assert newest.to == ("b@y.vn",)  # the envelope recipient, when the sink recorded it
    assert mails[1].to == ("a@x.vn",)
    assert newest.received_at == datetime(2026, 3, 2, 1, 1, 0, 250000, tzinfo=UTC)
    assert newest.body.strip() == "hai"
    assert newest.key == "1772413260.M250000P1Q2.host"
    assert [m.subject for m in read_maildir(tmp_path / "box", limit=1)] == [newest.subject]


def test_a_message_without_a_text_part_has_no_body(tmp_path: Path) -> None:
    mailbox.Maildir(tmp_path / "box", create=True)
    box = tmp_path / "box"
    message = EmailMessage()
    message["Subject"] = "html only"
    message["To"] = "a@x.vn, , b@y.vn"
    message.set_content("<p>x</p>", subtype="html")
    _deliver(box, "1772413200.M0P1Q1.host", message)
    (mail,) = read_maildir(tmp_path / "box")
    assert (mail.body, mail.links) == ("", ())
    assert mail.to == ("a@x.vn", "b@y.vn")


def test_answer_links_are_labelled_by_the_line_before() -> None:
    body = "\n".join(
        [
            f"{LINK} first line",
            "Nhận xử lý / Acknowledge:",
            "https://cm.example/web/a/tok2",
            "",
            "http://127.0.0.1:8080/web/a/tok3",
            "Chi tiết: https://cm.example/tickets/4",
        ]
    )
    assert answer_links(body) == (
        (LINK, LINK),
        ("Nhận xử lý / Acknowledge", "https://cm.example/web/a/tok2"),
        ("http://127.0.0.1:8080/web/a/tok3", "http://127.0.0.1:8080/web/a/tok3"),
    )
    assert answer_links("no links here") == ()
