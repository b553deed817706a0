"""The messages a mail sink received, read from its Maildir (the demo's "Hộp thư", issue 22).

The demo's sink writes each e-mail the collector sends into a Maildir (stdlib ``mailbox``); this
module reads the newest of them back, decoded (subjects in RFC 2047, bodies in UTF-8), with the
answer links each carries, so the console can show what every owner received.
"""

from __future__ import annotations

import email
import mailbox
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

MAX_MESSAGES = 200
_LINK = re.compile(r"https?://\S+/web/a/[A-Za-z0-9_.\-]+")


@dataclass(frozen=True, slots=True)
class Mail:
    """One received e-mail."""

    key: str
    to: tuple[str, ...]
    subject: str
    body: str
    received_at: datetime
    # (label, url) of each answer link in the body, in order.
    links: tuple[tuple[str, str], ...]


def _header(message: EmailMessage, name: str) -> str:
    # The modern parser (policy.default) decodes RFC 2047 words keeping the spaces a folded
    # Vietnamese subject has between them (the compat32 decoder drops some).
    raw = message.get(name)
    return "" if raw is None else str(raw)


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


def answer_links(body: str) -> tuple[tuple[str, str], ...]:
    """The answer links of a message's body, each labelled by the line before it."""
    found = []
    lines = body.splitlines()
    for number, line in enumerate(lines):
        match = _LINK.search(line)
        if match is None:
            continue
        label = lines[number - 1].strip().rstrip(":") if number > 0 else ""
        found.append((label or match.group(0), match.group(0)))
    return tuple(found)


_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)")


def _delivered(key: str) -> tuple[int, int, str]:
    """When a message was delivered, from its Maildir key (seconds, microseconds)."""
    match = _KEY_TIME.match(key)
    return (int(match.group(1)), int(match.group(2)), key) if match else (0, 0, key)


def read_maildir(path: Path, limit: int = MAX_MESSAGES) -> list[Mail]:
    """The newest ``limit`` messages of the Maildir at ``path``, newest first (none if it does
    not exist yet)."""
    if not (path / "cur").is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    # Only the newest are read: a key starts with its delivery time (seconds, microseconds).
    keys = sorted(box.iterkeys(), key=_delivered, reverse=True)[:limit]
    out = []
    for key in keys:
        message = email.message_from_bytes(box.get_bytes(key), policy=policy.default)
        assert isinstance(message, EmailMessage)  # what policy.default makes
        seconds, micros, _ = _delivered(key)
        recipients = _header(message, "X-RcptTo") or _header(message, "To")
        body = _body(message)
        out.append(
            Mail(
                key=key,
                to=tuple(part.strip() for part in recipients.split(",") if part.strip()),
                subject=_header(message, "Subject"),
                body=body,
                received_at=datetime.fromtimestamp(seconds + micros / 1e6, UTC),
                links=answer_links(body),
            )
        )
    return out
