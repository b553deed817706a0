"""Sends spooled reports to the collector in gzip batches, with backoff and jitter on failure.

A batch is assembled from the JSON the spool keeps for each report (``ReportBatch`` around
already serialised reports), not from 200 reports' worth of model objects at once: replaying an
outage that way left the agent about 10 MiB larger for the rest of its life (docs/agent.md).
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, cast

from pydantic import ValidationError

from agent.clock import Clock
from agent.collector_client import (
    CollectorClient,
    CollectorResponse,
    CollectorUnreachable,
    as_collector_client,
)
from agent.errors import AgentError
from agent.spool import Spool
from agent.wire import SCHEMA_VERSION, Ack, ReportBatch

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# A refusal naming one report of the batch by its index ("reports.3.devices.0.samples.1.name").
_REPORT_FIELD = re.compile(r"^reports\.(\d+)(\.|$)")


def refused_seqs(response: CollectorResponse, seqs: list[int]) -> list[int]:
    """The reports of a batch (by sequence) that the collector refused for good.

    The collector lists them (``refused``) when reports are past a budget or name another agent's
    device (422, 409); a 422 whose field is one report's names that report. Anything else (a bad
    token, the whole batch) names no report: the batch is held as before.
    """
    if response.status_code not in (409, 422):
        return []
    try:
        body = json.loads(response.content)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    listed = body.get("refused")
    if isinstance(listed, list):
        return sorted({seq for seq in listed if isinstance(seq, int) and seq in seqs})
    field = body.get("field")
    match = _REPORT_FIELD.match(field) if isinstance(field, str) else None
    if response.status_code == 422 and match is not None and int(match.group(1)) < len(seqs):
        return [seqs[int(match.group(1))]]
    return []


class SendError(AgentError):
    """A batch was not acknowledged; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog), capped."""

    base: float = 1.0
    cap: float = 300.0
    failures: int = 0
    rng: random.Random | None = None

    def next_delay(self) -> float:
        """Seconds to wait after one more failure."""
        self.failures += 1
        rng = self.rng or random.Random()  # noqa: S311 - jitter, not security
        return rng.uniform(0, min(self.cap, self.base * 2 ** min(self.failures, 20)))

    def reset(self) -> None:
        """A success: start again from the base delay."""
        self.failures = 0


def batch_json(
    *, agent_id: str, sent_at: datetime, oldest_unacked_seq: int | None, reports: list[bytes]
) -> bytes:
    """A ``ReportBatch`` as JSON around reports given as their JSON (as the spool stores them)."""
    envelope = ReportBatch.model_construct(
        schema_version=cast(Literal[1], SCHEMA_VERSION),
        agent_id=agent_id,
        sent_at=sent_at.astimezone(UTC),
        oldest_unacked_seq=oldest_unacked_seq,
        reports=[],
    )
    head = envelope.model_dump_json(exclude={"reports"}).encode()
    return head[:-1] + b',"reports":[' + b",".join(reports) + b"]}"


class Sender:
    """Moves reports from the spool to the collector; deletes only what the ack covers."""

    def __init__(
        self,
        spool: Spool,
        client: CollectorClient | httpx.AsyncClient,
        *,
        agent_id: str,
        token: str,
        clock: Clock,
        batch_size: int = 200,
    ) -> None:
        self._spool = spool
        self._client = as_collector_client(client)
        self._agent_id = agent_id
        self._token = token
        self._clock = clock
        self.batch_size = batch_size
        self.last_ack: Ack | None = None
        self.last_error: str | None = None
        # Reports the collector refused for good (past a budget, invalid), set aside.
        self.refused = 0

    def set_token(self, token: str) -> None:
        """Use a rotated token from now on."""
        self._token = token

    async def send_once(self) -> int:
        """Send one batch of the oldest spooled reports; returns how many left the spool."""
        reports = self._spool.pending_json(self.batch_size)
        if not reports:
            return 0
        stats = self._spool.stats()
        batch = batch_json(
            agent_id=self._agent_id,
            sent_at=self._clock.now(),
            oldest_unacked_seq=stats.oldest_seq,
            reports=[body for _, body in reports],
        )
        body = gzip.compress(batch, compresslevel=6)
        seqs = [seq for seq, _ in reports]
        del batch, reports
        try:
            response = await self._client.post(
                "/api/v1/reports",
                content=body,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Encoding": "gzip",
                    "Content-Type": "application/json",
                },
            )
        except CollectorUnreachable as exc:
            # No complete answer (refused, timed out, cut short): nothing acknowledged, retry.
            self.last_error = str(exc)
            raise SendError(self.last_error, retryable=True) from exc
        if response.status_code != 200:
            detail = response.text[:300]
            self.last_error = f"HTTP {response.status_code}: {detail}"
            refused = refused_seqs(response, seqs)
            if refused:
                # Sending them again would be refused again, for ever, and hold the reports
                # behind them: they leave the spool (the collector counted and recorded them)
                # and the rest goes on.
                self.refused += len(refused)
                log.error(
                    "collector refused reports for good; set aside, sending the rest",
                    extra={"seqs": refused[:20], "count": len(refused), "error": detail},
                )
                return self._spool.acknowledge(0, refused)
            # 5xx, 429 and 408 are the collector's trouble; other 4xx need a human (or re-enrol).
            retryable = response.status_code >= 500 or response.status_code in (408, 429)
            raise SendError(self.last_error, retryable=retryable, status=response.status_code)
        try:
            ack = Ack.model_validate_json(response.content)
        except ValidationError as exc:
            # Not our collector's answer (a captive portal, a proxy page): nothing is acknowledged.
            self.last_error = f"HTTP 200 without a valid acknowledgement: {response.text[:200]!r}"
            raise SendError(self.last_error, retryable=True, status=200) from exc
        removed = self._spool.acknowledge(ack.acked_seq, ack.stored)
        if self._spool.ensure_next_seq(ack.acked_seq + 1):
            # The collector holds sequences this spool has not numbered yet (a spool started
            # afresh): number new reports above them, or they would be taken for duplicates.
            log.warning(
                "spool sequence behind the collector; moved up",
                extra={"acked_seq": ack.acked_seq},
            )
        self.last_ack = ack
        self.last_error = None
        return removed

    async def flush(self) -> int:
        """Send until the spool is empty or a send fails (the error propagates)."""
        total = 0
        while True:
            removed = await self.send_once()
            if removed == 0:
                return total
            total += removed
