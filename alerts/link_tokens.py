"""Signed links to acknowledge or resolve a ticket from its message (issue 22): their tokens.

A technician on a phone answers from the e-mail or the Telegram message, without a login. Each
link carries its ticket, action, recipient (the owner's channel it was sent to) and expiry (72
hours after the message was sent) with an HMAC-SHA256 over them (stdlib ``hmac``); a random link
id makes it single-use: the id is written into ``action_links_used`` in the transaction of the
change it makes, so a link used twice, even at once, acts once. Opening a link only shows what it
would do (mail scanners and chat previews fetch links); the change is a POST from that page.

The key is the ``alerts.link_secret`` setting, or a random key made once and kept in the data
folder (mode 0600) so that links survive restarts. Links are signed when the message is sent
(``alerts.notify``), never stored. Using a link is ``alerts.action_links``'.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr
from sqlalchemy import Engine, select

from alerts.errors import AlertsError
from alerts.schema import used_links
from collector.errors import ConfigError

log = logging.getLogger(__name__)

Action = Literal["ack", "resolve"]
ACTIONS: tuple[Action, ...] = ("ack", "resolve")
LIFETIME = timedelta(hours=72)
KEY_FILE = "action-links.key"
# The console page that answers a link (web/routes/links.py).
PATH = "/web/a"
MAX_TOKEN = 400
_VERSION = "v1"

Refusal = Literal["altered", "expired", "used", "moved"]


class LinkRefused(AlertsError):
    """A link that does nothing: ``reason`` is altered (or not ours), expired, used, or moved
    (the ticket now belongs to another owner)."""

    def __init__(self, reason: Refusal, claim: LinkClaim | None = None) -> None:
        super().__init__(f"the link is {reason}")
        self.reason: Refusal = reason
        self.claim = claim


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a genuine link says."""

    link_id: str
    ticket_id: int
    action: Action
    recipient: str  # owner/channel id the message went to
    expires_at: datetime

    @property
    def owner(self) -> str:
        """The owner the message was sent to."""
        return self.recipient.split("/", 1)[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ActionLinks:
    """Signs and checks the links of one collector (one key, one public URL)."""

    def __init__(self, secret: bytes, public_url: str, lifetime: timedelta = LIFETIME) -> None:
        if len(secret) < 32:
            raise ConfigError("the action links' key must have at least 32 bytes")
        self._secret = secret
        self.public_url = public_url.rstrip("/")
        self.lifetime = lifetime

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def sign(self, ticket_id: int, action: Action, recipient: str, now: datetime) -> str:
        """A new link's token: valid for ``lifetime`` from ``now``, once."""
        expires = int((now + self.lifetime).timestamp())
        link_id = secrets.token_urlsafe(12)
        payload = f"{_VERSION}|{link_id}|{ticket_id}|{action}|{expires}|{recipient}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def url(self, token: str) -> str:
        """Where a link's token is answered."""
        return f"{self.public_url}{PATH}/{token}"

    def links_for(
        self, ticket_id: int, state: str, recipient: str, now: datetime
    ) -> dict[Action, str]:
        """The links a message about a ticket in ``state`` carries (none once resolved)."""
        wanted: tuple[Action, ...] = {"open": ACTIONS, "acknowledged": ("resolve",)}.get(state, ())
        return {action: self.url(self.sign(ticket_id, action, recipient, now)) for action in wanted}

    def read(self, token: str) -> LinkClaim:
        """The claim of a genuine token; LinkRefused("altered") for anything else."""
        if len(token) > MAX_TOKEN or token.count(".") != 1:
            raise LinkRefused("altered")
        encoded, mac = token.split(".")
        try:
            payload, given = _unb64(encoded), _unb64(mac)
        except (binascii.Error, ValueError):
            raise LinkRefused("altered") from None
        # Compared in constant time before any field is believed.
        if not hmac.compare_digest(given, self._mac(payload)):
            raise LinkRefused("altered")
        try:
            version, link_id, ticket, action, expires, recipient = payload.decode().split("|", 5)
            claim = LinkClaim(
                link_id,
                int(ticket),
                action,  # type: ignore[arg-type]  # checked just below
                recipient,
                datetime.fromtimestamp(int(expires), UTC),
            )
        except (UnicodeDecodeError, ValueError, OverflowError, OSError):
            raise LinkRefused("altered") from None
        if version != _VERSION or claim.action not in ACTIONS:
            raise LinkRefused("altered")
        return claim

    def check(self, engine: Engine, token: str, now: datetime) -> LinkClaim:
        """The claim of a link that can still act; LinkRefused saying why not."""
        claim = self.read(token)
        if now >= claim.expires_at:
            raise LinkRefused("expired", claim)
        with engine.connect() as conn:
            used = conn.execute(
                select(used_links.c.link_id).where(used_links.c.link_id == claim.link_id)
            ).first()
        if used is not None:
            raise LinkRefused("used", claim)
        return claim


def load_link_secret(configured: SecretStr | None, data_dir: Path) -> bytes:
    """The links' key: the setting, else the key file in ``data_dir``, made on first use (0600;
    several worker processes starting together end up with the same key)."""
    if configured is not None:
        return configured.get_secret_value().encode()
    path = data_dir / KEY_FILE
    if not path.exists():
        _make_key_file(path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        # Readable by others: anyone who reads it can forge links. Tighten, and say so.
        os.chmod(path, 0o600)
        log.warning("action link key was readable by others; now 0600", extra={"path": str(path)})
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ConfigError(
            f"{path}: the action links' key is shorter than 32 characters; delete the file to "
            "make a new one (links already sent stop working) or set alerts.link_secret"
        )
    return text.encode()


def _make_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name (mkstemp makes it 0600), then linked into place:
    # the link fails if another process was first, and its key is then the one read.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".action-links-")
    try:
        os.write(handle, secrets.token_hex(32).encode("ascii"))
        os.fsync(handle)
        os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def links_block(links: dict[Any, str]) -> list[str]:
    """The lines of a message that carry its links, Vietnamese then English."""
    labels = {
        "ack": ("Nhận xử lý (không cần đăng nhập)", "Acknowledge (no login needed)"),
        "resolve": ("Đã xử lý xong, đóng phiếu kèm ghi chú", "Resolve with a note"),
    }
    lines = []
    for action, url in links.items():
        vi, en = labels[action]
        lines.append(f"{vi} / {en}:")
        lines.append(url)
    if lines:
        lines.append("(Liên kết dùng một lần, hết hạn sau 72 giờ / single use, valid for 72 hours)")
    return lines
