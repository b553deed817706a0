"""Time-series sink: every processed sample as InfluxDB line protocol, via a durable backlog.

The journal processor calls :meth:`InfluxSink.consume` inside its transaction. That call only
formats line protocol and appends one compressed, fsynced segment file to a bounded backlog in
the data directory; a background thread sends the backlog in batches through ``influxdb-client``'s
v2 write API (InfluxDB 2/3 or VictoriaMetrics), retrying with exponential backoff. So a slow or
absent time-series database never slows ingest or the processor, and an outage loses nothing
as long as the backlog has room.

Names: measurement ``cm_device``, field = sample name, tags = province, commune_code,
device_id, kind and the sample's labels. VictoriaMetrics joins measurement and field with ``_``,
giving the series ``cm_device_<name>{...}`` that ``/metrics`` exposes (collector/exposition.py),
so one set of PromQL queries serves both paths. Timestamps are the report's measured_at (agent
time corrected for skew), so replayed reports land at their real times.

Delivery is at least once: the segment is written before the processor's transaction commits,
so a rolled-back or crashed step is re-consumed and its points written again with the same
series, timestamp and value (which the database treats as the same point, or which
VictoriaMetrics' ``-dedup.minScrapeInterval`` collapses).

When the backlog is full, new points are refused (the oldest backlog is kept, so history stays
contiguous from the start of the outage) and counted in ``cm_tsdb_sink_dropped_samples_total``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Connection, select

from collector.errors import CollectorError
from collector.line_protocol import format_report
from collector.processor import StoredReport
from collector.schema import communes
from collector.sink_backlog import Backlog, Segment

log = logging.getLogger(__name__)

WRITE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class SinkWriteError(CollectorError):
    """The time-series database did not accept a batch; ``retry`` says whether to try again."""

    def __init__(self, message: str, *, status: int | None, retry: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retry = retry


class LineWriter(Protocol):
    """Sends line-protocol lines (millisecond timestamps) to a database; raises SinkWriteError."""

    def write(self, lines: Sequence[str]) -> None: ...

    def close(self) -> None: ...


class InfluxWriter:
    """A :class:`LineWriter` over ``influxdb-client``'s synchronous v2 write API."""

    def __init__(
        self, url: str, token: str, org: str, bucket: str, *, timeout_seconds: float = 30.0
    ) -> None:
        # Imported here so that the collector starts without the client when the sink is off.
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._bucket = bucket
        self._org = org
        self._client = InfluxDBClient(
            url=url, token=token, org=org, timeout=int(timeout_seconds * 1000)
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: Sequence[str]) -> None:
        """Write one batch; library errors become :class:`SinkWriteError` here, and only here."""
        import urllib3
        from influxdb_client.domain.write_precision import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            self._api.write(
                bucket=self._bucket,
                org=self._org,
                record="\n".join(lines),
                write_precision=cast(WritePrecision, WritePrecision.MS),
            )
        except ApiException as exc:
            status = int(exc.status) if exc.status is not None else None
            # 4xx other than auth/not-found/throttling means these lines will never be
            # accepted; retrying them would block the backlog forever.
            permanent = status is not None and 400 <= status < 500 and status not in _RETRY_4XX
            raise SinkWriteError(
                f"time-series database answered HTTP {status}: {exc.reason}",
                status=status,
                retry=not permanent,
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkWriteError(
                f"time-series database unreachable: {exc.__class__.__name__}",
                status=None,
                retry=True,
            ) from exc

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()  # type: ignore[no-untyped-call]


# Wrong token (401/403) or bucket/URL (404) is a configuration error an operator fixes; keep the
# points meanwhile. 408/429 are the server asking us to come back later.
_RETRY_4XX = frozenset({401, 403, 404, 408, 429})


@dataclass(frozen=True)
class SinkMetrics:
    """Sink health on the collector's /metrics."""

    backlog_bytes: Gauge
    backlog_samples: Gauge
    backlog_segments: Gauge
    backlog_capacity_bytes: Gauge
    written: Counter
    write_errors: Counter
    dropped: Counter
    last_success: Gauge
    write_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SinkMetrics:
        """Register every instrument on ``registry``."""
        return cls(
            backlog_bytes=Gauge(
                "cm_tsdb_sink_backlog_bytes",
                "Compressed size of the points waiting on disk for the time-series database.",
                registry=registry,
            ),
            backlog_samples=Gauge(
                "cm_tsdb_sink_backlog_samples",
                "Points waiting on disk for the time-series database.",
                registry=registry,
            ),
            backlog_segments=Gauge(
                "cm_tsdb_sink_backlog_segments",
                "Backlog segment files (one per processor step).",
                registry=registry,
            ),
            backlog_capacity_bytes=Gauge(
                "cm_tsdb_sink_backlog_capacity_bytes",
                "Largest backlog kept; beyond it new points are dropped.",
                registry=registry,
            ),
            written=Counter(
                "cm_tsdb_sink_samples_written",
                "Points accepted by the time-series database.",
                registry=registry,
            ),
            write_errors=Counter(
                "cm_tsdb_sink_write_errors",
                "Failed batch writes: unreachable, or rejected (HTTP 4xx, points dropped).",
                ["reason"],
                registry=registry,
            ),
            dropped=Counter(
                "cm_tsdb_sink_dropped_samples",
                "Points lost: backlog full, or rejected by the database.",
                ["reason"],
                registry=registry,
            ),
            last_success=Gauge(
                "cm_tsdb_sink_last_success_timestamp_seconds",
                "When a batch was last accepted by the time-series database (Unix time).",
                registry=registry,
            ),
            write_seconds=Histogram(
                "cm_tsdb_sink_write_duration_seconds",
                "Time to write one batch to the time-series database.",
                buckets=WRITE_BUCKETS,
                registry=registry,
            ),
        )


class InfluxSink:
    """JournalConsumer writing every sample to a time-series database through a disk backlog."""

    def __init__(
        self,
        writer: LineWriter,
        backlog: Backlog,
        registry: CollectorRegistry,
        *,
        batch_size: int = 5000,
        flush_interval_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._writer = writer
        self.backlog = backlog
        self.metrics = SinkMetrics.create(registry)
        self._batch_size = batch_size
        self._flush_interval = flush_interval_seconds
        self._max_backoff = max_backoff_seconds
        self._wall = wall_clock
        self._provinces: dict[str, str] = {}
        # Lines of the oldest segment already accepted, so a batch failing halfway through a
        # segment does not resend its first part (kept in memory: after a crash they are
        # resent, which is harmless).
        self._sent: dict[Path, int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Points refused since the backlog last had room: one error when it fills, one warning
        # with the count when it has room again, rather than a line per processor step.
        self._dropped_while_full = 0
        self.metrics.backlog_capacity_bytes.set(backlog.max_bytes)
        self._update_gauges()

    # -- the processor side ---------------------------------------------------------------

    def _province_of(self, conn: Connection, commune_code: str) -> str:
        if commune_code not in self._provinces:
            # One query for the whole table, again only when an unknown commune appears.
            rows = conn.execute(select(communes.c.code, communes.c.province_code))
            self._provinces = {code: province for code, province in rows}
            self._provinces.setdefault(commune_code, "")
        return self._provinces[commune_code]

    def consume(self, conn: Connection, reports: Sequence[StoredReport]) -> None:
        """Append the reports' samples to the backlog (never waits for the database)."""
        lines: list[str] = []
        for report in reports:
            lines.extend(format_report(report, self._province_of(conn, report.commune_code)))
        if not lines:
            return
        if self.backlog.append(lines):
            if self._dropped_while_full:
                # The other end of the error below: how many points the gap in history holds.
                log.warning(
                    "time-series backlog has room again; points were dropped while it was full",
                    extra={"dropped_points": self._dropped_while_full},
                )
                self._dropped_while_full = 0
            if self.backlog.samples >= self._batch_size:
                self._wake.set()
        else:
            self.metrics.dropped.labels("backlog_full").inc(len(lines))
            if not self._dropped_while_full:
                log.error(
                    "time-series backlog full; dropping new points until it drains",
                    extra={"max_bytes": self.backlog.max_bytes, "dir": str(self.backlog.directory)},
                )
            self._dropped_while_full += len(lines)
        self._update_gauges()

    # -- the sender side ------------------------------------------------------------------

    def _update_gauges(self) -> None:
        self.metrics.backlog_bytes.set(self.backlog.size_bytes)
        self.metrics.backlog_samples.set(self.backlog.samples)
        self.metrics.backlog_segments.set(len(self.backlog))

    def flush_once(self) -> int:
        """Send one batch of the oldest backlog; returns points written (0: nothing pending).

        Raises SinkWriteError when the database did not take a retryable batch.
        """
        pieces: list[tuple[Segment, int, int]] = []
        lines: list[str] = []
        for segment in self.backlog.head(64):
            try:
                content = Backlog.read(segment)
            except FileNotFoundError:
                # Sent and deleted by another process on the same folder (each worker of
                # serve --workers N has a sender); waiting for it would wedge this one.
                self._sent.pop(segment.path, None)
                self.backlog.remove(segment)
                continue
            start = self._sent.get(segment.path, 0)
            end = min(len(content), start + self._batch_size - len(lines))
            lines.extend(content[start:end])
            pieces.append((segment, end, len(content)))
            if len(lines) >= self._batch_size:
                break
        if not pieces:
            return 0
        begun = time.perf_counter()
        try:
            self._writer.write(lines)
        except SinkWriteError as exc:
            if exc.retry:
                self.metrics.write_errors.labels("unreachable").inc()
                raise
            self.metrics.write_errors.labels("rejected").inc()
            self.metrics.dropped.labels("rejected").inc(len(lines))
            log.error(
                "time-series database rejected a batch; its points are dropped",
                extra={"status": exc.status, "points": len(lines), "error": str(exc)},
            )
        else:
            self.metrics.written.inc(len(lines))
            self.metrics.last_success.set(self._wall())
        self.metrics.write_seconds.observe(time.perf_counter() - begun)
        for segment, end, total in pieces:
            if end >= total:
                self._sent.pop(segment.path, None)
                self.backlog.remove(segment)
            else:
                self._sent[segment.path] = end
        self._update_gauges()
        return len(lines)

    def flush(self) -> int:
        """Send the whole backlog now (tests, shutdown, CLI); raises on the first failure."""
        total = 0
        while (done := self.flush_once()) > 0:
            total += done
        return total

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                done = self.flush_once()
            except SinkWriteError as exc:
                failures += 1
                # Exponential backoff with full jitter, so that many collectors coming back
                # after a database outage do not hammer it in step.
                delay = random.uniform(0, min(self._max_backoff, 0.5 * 2**failures))  # noqa: S311
                log.warning(
                    "time-series write failed; will retry",
                    extra={"error": str(exc), "retry_in_seconds": round(delay, 2)},
                )
                self._stop.wait(delay)
                continue
            except Exception:  # a bug must not kill the thread silently: log, back off, go on
                log.exception("time-series sink failed unexpectedly")
                self._stop.wait(self._max_backoff)
                continue
            failures = 0
            if done == 0 or self.backlog.samples < self._batch_size:
                # Small remainders wait up to the flush interval so batches stay large.
                self._wake.wait(self._flush_interval)
                self._wake.clear()

    def start(self) -> None:
        """Start the background sender thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tsdb-sink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the sender; what is not sent stays in the backlog for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._writer.close()


def build_sink(
    *,
    url: str,
    token: str,
    org: str,
    bucket: str,
    backlog_dir: Path,
    backlog_max_bytes: int,
    batch_size: int,
    flush_interval_seconds: float,
    registry: CollectorRegistry,
    **kwargs: Any,
) -> InfluxSink:
    """An :class:`InfluxSink` writing through influxdb-client to ``url``."""
    return InfluxSink(
        InfluxWriter(url, token, org, bucket),
        Backlog(backlog_dir, backlog_max_bytes),
        registry,
        batch_size=batch_size,
        flush_interval_seconds=flush_interval_seconds,
        **kwargs,
    )
