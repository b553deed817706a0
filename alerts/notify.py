"""Notifications through a durable outbox: e-mail over SMTP, a generic JSON webhook, apprise.

Desk writes one outbox row per channel in the same transaction as the ticket change; the
:class:`Dispatcher` sends due rows and, on failure, schedules the next attempt with exponential
backoff, so a notifier that is down loses nothing and catches up when it returns.

A row refers to its channel (owner + channel id in routing.yaml); the dispatcher resolves the
address, with its ``${VARIABLES}``, only to send, so no token is stored. Error texts name the
channel, never the address, and the values taken from variables are masked in the log lines of
httpx and apprise, which print request URLs (apprise's DEBUG lines hold whole Telegram URLs).

The outbox has no size bound, on purpose: it lives in the state store beside the tickets it
announces, one small row per ticket change and channel, and a bound would have to drop the
notice of a real ticket without anyone knowing. What bounds it is upstream (root-cause grouping:
one ticket per incident, reopened rather than multiplied) and what shows it is /metrics
(:class:`OutboxCollector`: undelivered, retrying, the oldest waiting) and a warning per failed
attempt. Each dispatch pass reads at most ``batch`` rows, so memory stays bounded however long
the relay is away. See docs/security.md, "Bounded queues".

A message about a ticket that is still open carries signed, single-use links to acknowledge and
to resolve it (``alerts.link_tokens``), made for its recipient when it is sent: never stored, and
valid for 72 hours from the send.
"""

from __future__ import annotations

import email.policy
import json
import logging
import smtplib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol

import apprise
import httpx
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select, update

from agent.clock import Clock
from agent.vntime import local_midnight
from alerts.channels import LOG_FILTER, guard_library_logs, scheme_of
from alerts.errors import AlertsError, ChannelError
from alerts.link_tokens import ActionLinks, links_block
from alerts.schema import outbox, tickets

if TYPE_CHECKING:
    from alerts.routing import Routing

log = logging.getLogger(__name__)


class NotifyError(AlertsError):
    """A message could not be delivered this time (it stays in the outbox)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row as a notifier sees it."""

    target: str
    subject: str
    body: str
    # Values taken from ${VARIABLES} for ``target``: masked in library log lines.
    secrets: tuple[str, ...] = ()


class Notifier(Protocol):
    """Delivers one message or raises NotifyError."""

    def send(self, message: Message) -> None: ...


# Python's header folding at 78 columns drops the space that falls between two RFC 2047 encoded
# words: with the default policy 186 of 300 Vietnamese ticket subjects reached the mail client
# with words run together ("củatỉnh"; measured in the demo's mailbox). Subjects are at most 500
# characters (alerts.messages), so with lines up to RFC 5322's 998 they are never folded there.
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


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
        mail = EmailMessage(policy=MAIL_POLICY)
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
            # The URL may carry a secret: name the error class only (the row names its channel).
            raise NotifyError(f"webhook: {exc.__class__.__name__}") from exc
        if not response.is_success:
            raise NotifyError(f"webhook: HTTP {response.status_code}")


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
        routing: Routing,
        environ: Mapping[str, str] | None = None,
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_max: timedelta = timedelta(hours=1),
        batch: int = 200,
        links: ActionLinks | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._notifiers = dict(notifiers)
        # Channels are resolved from the routing in force and ``environ`` at each send.
        self._routing = routing
        self._environ: Mapping[str, str] = environ if environ is not None else {}
        self._base = backoff_base
        self._max = backoff_max
        self._batch = batch
        # (channel, address as written) of digest owners: for rows queued before migration
        # 0005, which name no owner.
        self._digest_targets = routing.digest_targets()
        # Signs each message's answer links at send time; None: messages carry none.
        self.links = links
        guard_library_logs()

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
            states = self._states(conn, rows)
        sent = failed = 0
        down: set[tuple[str, str]] = set()
        for group in self._messages(rows):
            first = group[0]
            notifier = self._notifiers.get(first.channel)
            service = self._service_of(first)
            error = ""
            if notifier is None:
                error = f"no notifier configured for channel {first.channel!r}"
            elif service in down:
                continue  # the service failed earlier in this pass: retried next pass
            else:
                try:
                    notifier.send(self._message(group, states))
                except ChannelError as exc:
                    error = str(exc)  # the channel's own setup, not its server: others go on
                except NotifyError as exc:
                    error = f"{_reference(first)}: {exc}"
                    # One refused connection says the server is down: do not hammer it with
                    # every queued message in the same pass.
                    down.add(service)
            # Rows of one message share their fate: all sent, or all retried together.
            with self._engine.begin() as conn:
                if not error:
                    sent += len(group)
                    for row in group:
                        values: dict[str, Any] = {
                            "sent_at": self._clock.now(),
                            "attempts": row.attempts + 1,
                        }
                        if not row.owner and row.channel != "email":
                            # A row queued before migration 0005 held its URL: drop it now.
                            values["target"] = f"redacted:{row.id}"
                        conn.execute(update(outbox).where(outbox.c.id == row.id).values(values))
                    retried = [row.id for row in group if row.attempts > 0]
                    if retried:
                        # The end of an outage is worth a line too: the warnings above stop.
                        log.info(
                            "notification delivered after failed attempts",
                            extra={
                                "outbox_ids": retried,
                                "channel": first.channel,
                                "attempts": max(row.attempts for row in group) + 1,
                            },
                        )
                else:
                    failed += len(group)
                    self._failed(conn, group, error, now)
        return DispatchResult(sent, failed)

    def _failed(self, conn: Connection, group: Sequence[Any], error: str, now: datetime) -> None:
        """Schedule the group's next attempt, and say so once for this attempt."""
        first = group[0]
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
        retry_at = now + self.backoff(max(row.attempts for row in group) + 1)
        # One line per attempt, naming what a person needs: which tickets, which
        # channel of which owner, why, and when it is tried again.
        log.warning(
            "notification not delivered: tickets %s, %s, next try %s: %s",
            ",".join(f"#{row.ticket_id}" for row in group),
            _reference(first),
            retry_at.isoformat(timespec="seconds"),
            error,
            extra={
                "outbox_ids": [row.id for row in group],
                "tickets": [row.ticket_id for row in group],
                "channel": first.channel,
                "error": error,
                "next_attempt_at": retry_at.isoformat(),
            },
        )

    def _written(self, row: Any) -> tuple[str, str]:
        """(channel, address as written in routing.yaml, unresolved) of a row; a row queued
        before migration 0005 has its literal address instead."""
        if not row.owner:
            return row.channel, row.target
        channel = self._routing.channel(row.owner, row.channel_id)
        return row.channel, channel.to if channel is not None else f"?{row.owner}/{row.channel_id}"

    def _service_of(self, row: Any) -> tuple[str, str]:
        """The server a row goes through: one SMTP relay for all e-mail; each URL on its own."""
        return ("email", "") if row.channel == "email" else self._written(row)

    def _states(self, conn: Connection, rows: Sequence[Any]) -> dict[int, str]:
        """The current state of each row's ticket (which answer links its message carries)."""
        if self.links is None or not rows:
            return {}
        ids = sorted({int(row.ticket_id) for row in rows})
        found = conn.execute(select(tickets.c.id, tickets.c.state).where(tickets.c.id.in_(ids)))
        return {int(ticket_id): str(state) for ticket_id, state in found}

    def _links(self, row: Any, states: Mapping[int, str]) -> dict[str, str]:
        """The answer links of one row's message for its recipient (owner/channel)."""
        state = states.get(int(row.ticket_id))
        if self.links is None or not row.owner or state is None:
            return {}
        recipient = f"{row.owner}/{row.channel_id}"
        made = self.links.links_for(int(row.ticket_id), state, recipient, self._clock.now())
        return {str(action): url for action, url in made.items()}

    def _message(self, group: Sequence[Any], states: Mapping[int, str]) -> Message:
        """The group's message, its address resolved now (raises ChannelError)."""
        first = group[0]
        links = [self._links(row, states) for row in group]
        if not first.owner:
            return _compose(group, first.target, (), links)
        destination = self._routing.destination(first.owner, first.channel_id, self._environ)
        if destination.channel.type != first.channel:
            raise ChannelError(
                f"{_reference(first)}: the channel is now of type {destination.channel.type!r}, "
                f"the message was written for {first.channel!r}"
            )
        LOG_FILTER.add(destination.secrets)
        return _compose(group, destination.address, destination.secrets, links)

    def _in_digest(self, row: Any) -> bool:
        """Whether a row waits for its owner's digest: the owner wants digests and the row is
        not urgent (SLA breaches, escalations always go alone and at once)."""
        if row.urgent:
            return False
        if not row.owner:
            return self._written(row) in self._digest_targets
        owner = self._routing.owners.get(row.owner)
        return owner is not None and owner.digest_minutes is not None

    def _messages(self, rows: Sequence[Any]) -> list[list[Any]]:
        """Due rows as messages: one each, or one per channel address listing every digest
        row due for it."""
        groups: list[list[Any]] = []
        digests: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            key = self._written(row)
            if not self._in_digest(row):
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
_DIGEST_EPOCH = local_midnight(date(1970, 1, 1))


def digest_due(now: datetime, minutes: int) -> datetime:
    """The end of the digest window of ``minutes`` that ``now`` falls in."""
    window = timedelta(minutes=minutes)
    return _DIGEST_EPOCH + ((now - _DIGEST_EPOCH) // window + 1) * window


def _reference(row: Any) -> str:
    """How errors name a row's channel: owner/channel id, or the type of a pre-0005 row."""
    return f"{row.owner}/{row.channel_id}" if row.owner else row.channel


def _with_links(row: Any, links: Mapping[str, str]) -> str:
    """A row's body with its answer links: lines of text, or ``actions`` in a webhook's JSON."""
    if not links:
        return str(row.body)
    if row.channel == "webhook":
        payload = json.loads(row.body)
        payload["actions"] = dict(links)
        return json.dumps(payload, ensure_ascii=False)
    # First, where a technician on a phone sees them without scrolling.
    return "\n".join(links_block(dict(links))) + f"\n\n{row.body}"


def _compose(
    group: Sequence[Any],
    address: str,
    secrets: tuple[str, ...],
    links: Sequence[Mapping[str, str]],
) -> Message:
    """One row's message, or a digest listing every row of the group (oldest first), each with
    its answer links."""
    first = group[0]
    bodies = [_with_links(row, row_links) for row, row_links in zip(group, links, strict=True)]
    if len(group) == 1:
        return Message(address, first.subject, bodies[0], secrets)
    count = len(group)
    subject = f"[digest] {count} thay đổi phiếu / {count} ticket changes"
    if first.channel == "webhook":
        events = [json.loads(body) for body in bodies]
        body = json.dumps({"event": "digest", "count": count, "events": events}, ensure_ascii=False)
    else:
        listing = "\n".join(f"- {row.subject}" for row in group)
        details = "\n\n=====\n\n".join(
            f"{row.subject}\n\n{text}" for row, text in zip(group, bodies, strict=True)
        )
        body = f"{listing}\n\n=====\n\n{details}"
    return Message(address, subject, body, secrets)


class OutboxCollector(Collector):
    """The outbox on /metrics, read from the store at each scrape (any worker can answer)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from querying the store.
        return []

    def collect(self) -> Iterator[Metric]:
        retrying = GaugeMetricFamily(
            "cm_notifications_retrying",
            "Undelivered notifications that failed at least once, by channel "
            "(Thông báo đang gửi lại)",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "cm_notifications_oldest_undelivered_timestamp_seconds",
            "When the oldest undelivered notification was queued (Unix time; absent when none).",
        )
        undelivered = outbox.c.sent_at.is_(None)
        with self._engine.connect() as conn:
            for channel, number in conn.execute(
                select(outbox.c.channel, func.count())
                .where(undelivered, outbox.c.attempts > 0)
                .group_by(outbox.c.channel)
            ):
                retrying.add_metric([channel], float(number))
            first = conn.execute(select(func.min(outbox.c.created_at)).where(undelivered))
            queued: datetime | None = first.scalar_one()
        if queued is not None:
            oldest.add_metric([], queued.timestamp())
        yield retrying
        yield oldest
