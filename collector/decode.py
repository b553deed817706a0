"""From a request body to a batch ready for the journal: gunzip, bound, validate, check times,
reduce to atomic tuples with each report's growth of the device state (for the budgets).

Pure functions of bytes and settings: the ingest endpoint runs them on the event loop for small
bodies and in the validation worker process for large ones (``collector.validation_pool``).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from pydantic import ValidationError

from agent.wire import Report, ReportBatch
from collector.errors import Forbidden, ReportRejected
from collector.gc_tuning import gc_paused
from collector.journal import encode_report
from collector.settings import Settings


class TimeWindows(Protocol):
    """The settings that judge a batch's times (``Settings`` or :class:`DecodeLimits`)."""

    @property
    def future_window_seconds(self) -> float: ...

    @property
    def clock_skew_tolerance_seconds(self) -> float: ...


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """The settings decoding needs, small enough to hand to the worker process."""

    max_decompressed_bytes: int
    max_objects_per_batch: int
    future_window_seconds: float
    clock_skew_tolerance_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> DecodeLimits:
        """The limits of ``settings``."""
        return cls(
            settings.max_decompressed_bytes,
            settings.ingest.max_objects_per_batch,
            settings.future_window_seconds,
            settings.clock_skew_tolerance_seconds,
        )


class NeedsWorker(Exception):
    """The body is larger than what is decoded on the event loop: hand it to the worker."""


_STEP = 1024 * 1024


def decode_body(
    raw: bytes,
    content_encoding: str | None,
    max_decompressed: int,
    *,
    inline_max: int = 0,
    max_objects: int = 0,
) -> bytes:
    """The JSON bytes of a request body, gunzipped if needed, never larger than the bound.

    With ``inline_max`` (the event loop's share), a body whose JSON would be larger raises
    :class:`NeedsWorker` after at most that many bytes were decompressed. With ``max_objects``
    (:func:`check_work`), a body holding more JSON objects is refused as soon as its
    decompressed part shows it, before the rest is decompressed.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        if len(raw) > max_decompressed:
            raise ReportRejected(f"body is larger than {max_decompressed} bytes", status=413)
        if inline_max and len(raw) > inline_max:
            raise NeedsWorker
        if max_objects:
            check_work(raw, max_objects)
        return raw
    if encoding != "gzip":
        raise ReportRejected(
            f"Content-Encoding {encoding!r} is not supported; use gzip or none",
            field="Content-Encoding",
            status=415,
        )
    limit = min(inline_max, max_decompressed) if inline_max else max_decompressed
    # wbits=31: gzip container only. Decompressed a step at a time: the bound on the output
    # defeats gzip bombs, and a body of too many objects is refused before it is all out.
    decompressor = zlib.decompressobj(wbits=31)
    step = min(_STEP, limit + 1)
    pieces: list[bytes] = []
    size = objects = 0
    data = raw
    while not decompressor.eof:
        try:
            piece = decompressor.decompress(data, step)
        except zlib.error as exc:
            raise ReportRejected(f"body is not valid gzip: {exc}", status=400) from None
        data = decompressor.unconsumed_tail
        if not piece and not data:
            raise ReportRejected("gzip body is truncated", status=400)
        size += len(piece)
        if size > limit:
            if limit < max_decompressed:
                raise NeedsWorker
            raise ReportRejected(
                f"body decompresses to more than {max_decompressed} bytes (max_decompressed_bytes)",
                status=413,
            )
        if max_objects:
            objects += piece.count(b"{")
            if objects > max_objects:
                raise _too_many_objects(f"more than {objects}", max_objects)
        pieces.append(piece)
    if decompressor.unused_data:
        # A second gzip member or bytes after the end: what they hold would never be read, so a
        # body carrying them is refused rather than half taken.
        raise ReportRejected(
            f"{len(decompressor.unused_data)} bytes follow the end of the gzip stream; send one "
            "gzip member and nothing after it",
            status=400,
        )
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def check_work(body: bytes, max_objects: int) -> None:
    """Refuse before validation a body with more JSON objects than ``max_objects``.

    Every sample, label set, device and report is a JSON object, and each object opens with a
    ``{`` that no escape can hide (unlike key names, which JSON lets be spelt with ``\\u``
    escapes): the count of ``{`` bytes bounds the number of models validation would build, at the
    cost of one memchr-speed pass. Braces inside strings only make the bound stricter.
    """
    objects = body.count(b"{")
    if objects > max_objects:
        raise _too_many_objects(str(objects), max_objects)


def _too_many_objects(count: str, max_objects: int) -> ReportRejected:
    return ReportRejected(
        f"the batch holds {count} JSON objects (samples, label sets, devices, reports), "
        f"more than ingest.max_objects_per_batch ({max_objects}); send fewer reports per batch",
        field="reports",
        status=413,
    )


def parse_batch(body: bytes) -> ReportBatch:
    """Validate a JSON body as a ReportBatch; errors name the first bad field."""
    try:
        # A month of back-fill is 720 reports of ~50 samples in one body: collections running
        # while its models are built scan them again and again. Paused, validation took
        # 0.151-0.158 ms per report instead of 0.172 (in-process, tuned thresholds). The HTTP
        # path keeps the pause until the models are reduced to a PreparedBatch and freed.
        with gc_paused():
            return ReportBatch.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise ReportRejected(f"body is not valid JSON: {first['msg']}", status=400) from None
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ReportRejected(
            f"{where}: {first['msg']}"
            + (f" ({exc.error_count()} errors)" if exc.error_count() > 1 else ""),
            field=where,
        ) from None


def skew_correction(batch: ReportBatch, received_at: datetime, settings: TimeWindows) -> timedelta:
    """How much to add to the agent's times: its clock offset, if larger than the tolerance."""
    skew = received_at - batch.sent_at
    if abs(skew.total_seconds()) > settings.clock_skew_tolerance_seconds:
        return skew
    return timedelta(0)


def check_times(batch: ReportBatch, received_at: datetime, settings: TimeWindows) -> timedelta:
    """Reject reports measured in the future; return the skew correction to apply."""
    correction = skew_correction(batch, received_at, settings)
    limit = received_at + timedelta(seconds=settings.future_window_seconds)
    for index, report in enumerate(batch.reports):
        try:
            corrected = report.measured_at + correction
        except OverflowError:
            # A clock years off (a flat CMOS battery) plus a wild timestamp: no real time.
            raise ReportRejected(
                f"reports.{index}.measured_at: {report.measured_at.isoformat()} corrected by the "
                f"agent's clock offset ({correction.total_seconds():.0f} s) is not a valid time",
                field=f"reports.{index}.measured_at",
            ) from None
        if corrected > limit:
            raise ReportRejected(
                f"reports.{index}.measured_at: {report.measured_at.isoformat()} is more than "
                f"{settings.future_window_seconds:g} s in the future",
                field=f"reports.{index}.measured_at",
            )
    seen: set[int] = set()
    for index, report in enumerate(batch.reports):
        if report.seq in seen:
            raise ReportRejected(
                f"reports.{index}.seq: sequence {report.seq} appears twice in this batch",
                field=f"reports.{index}.seq",
            )
        seen.add(report.seq)
    return correction


class Growth(NamedTuple):
    """A report raising a device's count of series of one sample name over the batch so far
    (``name`` "" and ``series`` 0: the device's first appearance in the batch)."""

    device_id: str
    name: str
    series: int


class PreparedReport(NamedTuple):
    """What the journal keeps of one report: its number, time, size and compressed payload, and
    what it puts in the device state (what the budgets count): flat (device id, sample name,
    series) triples, a name "" for each device, as one tuple of atoms (collections do not walk
    it); ``same_growth`` when they are the previous report's (steady state, back-fill)."""

    seq: int
    measured_at: datetime
    samples: int
    payload: bytes
    flat_growth: tuple[str | int, ...] = ()
    same_growth: bool = False

    @property
    def growth(self) -> list[Growth]:
        """The triples of ``flat_growth``."""
        flat = self.flat_growth
        return [
            Growth(str(flat[i]), str(flat[i + 1]), int(flat[i + 2])) for i in range(0, len(flat), 3)
        ]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A validated batch reduced to what storing it needs.

    A month of back-fill validates into some hundred thousand model objects. Reduced to a few
    hundred tuples of atomic values before cyclic collection runs again, the models are freed by
    reference counting and never scanned; kept until the group commit, every young and older
    collection meanwhile walked them (half of the ingest's CPU in a py-spy profile of the
    back-fill). Serialising here also moves that work out of the serialised commit.
    """

    agent_id: str
    sent_at: datetime
    oldest_unacked_seq: int | None
    reports: tuple[PreparedReport, ...]


def _families(report: Report) -> tuple[str | int, ...]:
    """(device id, sample name, series) of every device and name of a report, flat."""
    flat: list[str | int] = []
    for device in report.devices:
        flat += (device.device_id, "", 0)
        # The series of a name on a device are its samples (label sets) in one report.
        for name, count in Counter(sample.name for sample in device.samples).items():
            flat += (device.device_id, name, count)
    return tuple(flat)


def prepare_batch(batch: ReportBatch) -> PreparedBatch:
    """The journal rows' contents of a validated batch, each payload compressed once."""
    reports = []
    previous: tuple[str | int, ...] | None = None
    for report in batch.reports:
        families = _families(report)
        same = families == previous
        previous = families
        reports.append(
            PreparedReport(
                report.seq,
                report.measured_at,
                sum(len(device.samples) for device in report.devices),
                encode_report(report),
                () if same else families,
                same,
            )
        )
    return PreparedBatch(
        agent_id=batch.agent_id,
        sent_at=batch.sent_at,
        oldest_unacked_seq=batch.oldest_unacked_seq,
        reports=tuple(reports),
    )


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body decoded, validated and prepared, with the agent's clock correction."""

    batch: PreparedBatch
    correction: timedelta


def decode_batch(
    raw: bytes,
    content_encoding: str | None,
    agent_id: str,
    received_at: datetime,
    limits: DecodeLimits,
    *,
    inline_max: int = 0,
) -> Decoded:
    """Everything between the body's bytes and the journal: bounds, validation, times.

    ``agent_id`` is the token's: a batch naming another agent is refused (403). With
    ``inline_max``, a body larger than that raises :class:`NeedsWorker` first.
    """
    body = decode_body(
        raw,
        content_encoding,
        limits.max_decompressed_bytes,
        inline_max=inline_max,
        max_objects=limits.max_objects_per_batch,
    )
    # The validated models must be gone before cyclic collection resumes (PreparedBatch).
    with gc_paused():
        batch = parse_batch(body)
        del body
        if batch.agent_id != agent_id:
            raise Forbidden(f"agent_id: this token belongs to {agent_id!r}, not {batch.agent_id!r}")
        correction = check_times(batch, received_at, limits)
        prepared = prepare_batch(batch)
        del batch
    return Decoded(prepared, correction)
