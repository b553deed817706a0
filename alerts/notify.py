"""Notifications through a durable outbox: e-mail over SMTP, a generic JSON webhook, apprise.

Desk writes one outbox row per channel in the same transaction as the ticket change; the
:class:`Dispatcher` sends due rows and, on failure, schedules the next attempt with exponential
backoff, so a notifier that is down loses nothing and catches up when it returns.
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import apprise
import httpx
from sqlalchemy import Engine, select, update

from agent.checks.base import Clock
from alerts.errors import AlertsError
from alerts.schema import outbox

log = logging.getLogger(__name__)


class NotifyError(AlertsError):
    """A message could not be delivered this time (it stays in the outbox)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row as a notifier sees it."""

    target: str
    subject: str
    body: str


class Notifier(Protocol):
    """Delivers one message or raises NotifyError."""

    def send(self, message: Message) -> None: ...


class SmtpNotifier:
    """E-mail through an SMTP relay (plain or STARTTLS, optional login)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout = timeout

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = message.target
        mail["Subject"] = message.subject
        mail.set_content(message.body, charset="utf-8")
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username is not None:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"SMTP {self._host}:{self._port}: {exc}") from exc


class WebhookNotifier:
    """POSTs the JSON body of the outbox row to the channel's URL; 2xx is delivered."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def send(self, message: Message) -> None:
        try:
            response = self._client.post(
                message.target,
                content=message.body.encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            raise NotifyError(f"webhook {message.target}: {exc.__class__.__name__}") from exc
        if not response.is_success:
            raise NotifyError(f"webhook {message.target}: HTTP {response.status_code}")


class AppriseNotifier:
    """Any service apprise knows (Telegram ``tgram://``, Slack, Matrix, ``json://`` ...).

    The channel's target is the apprise URL; title and text body as for e-mail. apprise reports
    a refused or failed delivery as False, which keeps the row in the outbox for a retry.
    """

    def send(self, message: Message) -> None:
        service = apprise.Apprise()
        if not service.add(message.target):
            raise NotifyError(f"apprise: not a usable URL ({scheme_of(message.target)}://...)")
        if not service.notify(body=message.body, title=message.subject):
            # The URL can hold a bot token: name only its scheme in the error.
            raise NotifyError(f"apprise {scheme_of(message.target)}://: delivery failed")


def scheme_of(url: str) -> str:
    """The scheme of an apprise URL (its part that is never secret)."""
    return url.split("://", 1)[0] if "://" in url else "?"


def apprise_url_valid(url: str) -> bool:
    """Whether apprise has a plugin for the URL and accepts its parameters."""
    return apprise.Apprise.instantiate(url) is not None


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What one dispatch pass did."""

    sent: int
    failed: int


class Dispatcher:
    """Sends due outbox rows; failures back off exponentially (base x 2^attempts, capped)."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        notifiers: Mapping[str, Notifier],
        *,
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_max: timedelta = timedelta(hours=1),
        batch: int = 200,
        digest_targets: Collection[tuple[str, str]] = frozenset(),
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._notifiers = dict(notifiers)
        self._base = backoff_base
        self._max = backoff_max
        self._batch = batch
        # (channel, target) whose due rows go out as one digest message (Routing.digest_targets).
        self._digest_targets = frozenset(digest_targets)

    def backoff(self, attempts: int) -> timedelta:
        """Wait before attempt number ``attempts + 1``."""
        delay: timedelta = self._base * (2 ** max(0, attempts - 1))
        return min(self._max, delay)

    def deliver_due(self) -> DispatchResult:
        """Try every due row once; returns how many rows were sent and how many failed."""
        now = self._clock.now()
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(outbox)
                .where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.id)
                .limit(self._batch)
            ).all()
        sent = failed = 0
        down: set[str] = set()
        for group in self._messages(rows):
            first = group[0]
            notifier = self._notifiers.get(first.channel)
            error = ""
            if notifier is None:
                error = f"no notifier configured for channel {first.channel!r}"
            elif _service_of(first) in down:
                continue  # the service failed earlier in this pass: retried next pass
            else:
                try:
                    notifier.send(_message(group))
                except NotifyError as exc:
                    error = str(exc)
                    # One refused connection says the server is down: do not hammer it with
                    # every queued message in the same pass.
                    down.add(_service_of(first))
            ids = [row.id for row in group]
            # Rows of one message share their fate: all sent, or all retried together.
            with self._engine.begin() as conn:
                if not error:
                    sent += len(group)
                    for row in group:
                        conn.execute(
                            update(outbox)
                            .where(outbox.c.id == row.id)
                            .values(sent_at=self._clock.now(), attempts=row.attempts + 1)
                        )
                else:
                    failed += len(group)
                    for row in group:
                        attempts = row.attempts + 1
                        conn.execute(
                            update(outbox)
                            .where(outbox.c.id == row.id)
                            .values(
                                attempts=attempts,
                                last_error=error[:2000],
                                next_attempt_at=now + self.backoff(attempts),
                            )
                        )
                    log.warning(
                        "notification not delivered",
                        extra={"outbox_ids": ids, "channel": first.channel, "error": error},
                    )
        return DispatchResult(sent, failed)

    def _messages(self, rows: Sequence[Any]) -> list[list[Any]]:
        """Due rows as messages: one each, or one per digest target listing all its rows."""
        groups: list[list[Any]] = []
        digests: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            key = (row.channel, row.target)
            if key not in self._digest_targets:
                groups.append([row])
            elif key in digests:
                digests[key].append(row)
            else:
                digests[key] = [row]
                groups.append(digests[key])
        return groups

    def pending(self) -> int:
        """Rows not delivered yet."""
        with self._engine.connect() as conn:
            return len(conn.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None))).all())


# Digest windows start at midnight in Hà Nội (UTC+7 all year, no daylight saving).
_DIGEST_EPOCH = datetime(1970, 1, 1, tzinfo=UTC) - timedelta(hours=7)


def digest_due(now: datetime, minutes: int) -> datetime:
    """The end of the digest window of ``minutes`` that ``now`` falls in."""
    window = timedelta(minutes=minutes)
    return _DIGEST_EPOCH + ((now - _DIGEST_EPOCH) // window + 1) * window


def _message(group: Sequence[Any]) -> Message:
    """One row's message, or a digest listing every row of the group (oldest first)."""
    first = group[0]
    if len(group) == 1:
        return Message(first.target, first.subject, first.body)
    count = len(group)
    subject = f"[digest] {count} thay đổi phiếu / {count} ticket changes"
    if first.channel == "webhook":
        events = [json.loads(row.body) for row in group]
        body = json.dumps({"event": "digest", "count": count, "events": events}, ensure_ascii=False)
    else:
        listing = "\n".join(f"- {row.subject}" for row in group)
        details = "\n\n=====\n\n".join(f"{row.subject}\n\n{row.body}" for row in group)
        body = f"{listing}\n\n=====\n\n{details}"
    return Message(first.target, subject, body)


def _service_of(row: Any) -> str:
    """The server a row goes through: one SMTP relay for all e-mail; each URL on its own."""
    return row.channel if row.channel == "email" else f"{row.channel} {row.target}"
