"""HTTP(S) probes of the procedure software, the National Public Service Portal and CA endpoints.

Each configured URL is fetched with pycurl, whose timing info gives the real phases of one
transfer. libcurl's times are cumulative from the start (``NAMELOOKUP`` ≤ ``CONNECT`` ≤
``APPCONNECT`` ≤ ``PRETRANSFER`` ≤ ``STARTTRANSFER`` ≤ ``TOTAL``); they are turned into
per-phase durations:

======== =================================================================
phase    duration
======== =================================================================
dns      NAMELOOKUP
connect  CONNECT − NAMELOOKUP
tls      APPCONNECT − CONNECT (https only)
ttfb     STARTTRANSFER − PRETRANSFER: request sent until the first byte,
         the server's own time (Chrome's "Waiting (TTFB)")
transfer TOTAL − STARTTRANSFER
total    TOTAL
======== =================================================================

A failed transfer still reports the phases it completed (a timeout after connect shows dns and
connect, no ttfb). With ``follow_redirects`` libcurl adds up the phases of every hop.

Each probe uses a fresh handle (no connection or DNS cache reuse), so every run measures DNS,
connect and TLS. Blocking ``perform`` calls run in worker threads, at most ``max_concurrency`` at
once, so one slow target never delays the others.

**Device model.** Each target is a ``DeviceReport`` of kind ``service`` (device id
``probe:<name>@<pc>``), not samples on the PC: a failing portal is a fact about the service as
seen from this site, routed to the software's vendor (``software_outage`` /
``software_slow_site``), not to the PC's technician, and the PC's own state is not overwritten by
probe results. The PC is part of the id because the collector keys device state by (commune,
device id) and every counter PC of a commune probes the same portal. Every sample is labelled
``target`` (the name) and ``host`` (the URL host) so the collector can compare one target across
PCs and communes for its root-cause logic.

**Certificate expiry** comes from libcurl's CERTINFO (the leaf certificate's "Expire date"), which
libcurl fills even when verification is off or fails, so a self-signed, pinned or expired
certificate still shows its expiry.

**Errors** are classified at one boundary (``classify_curl_error``) into ``dns``,
``connect_refused``, ``connect_failed``, ``timeout``, ``tls``, ``transfer_error``; answers into
``http_5xx``, ``http_4xx``, ``maintenance`` (a maintenance marker is present, checked first since
maintenance pages often come with 503) and ``marker_missing``. Any class gives ``probe_success`` 0
and a ``probe_failed`` event naming it.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import html
import logging
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pycurl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.checks.base import CheckConfig
from agent.checks.common import NAME_PATTERN, CheckError, path_device_id, pc_device_id
from agent.clock import Clock, SystemClock
from agent.wire import DeviceId, DeviceKind, DeviceReport, Event, Sample, Severity

log = logging.getLogger(__name__)

DEFAULT_MAINTENANCE_MARKERS = ("đang bảo trì", "bảo trì hệ thống")
_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# "Expire date" as libcurl's backends print it: OpenSSL ("Dec 23 12:04:41 2026 GMT") and the
# generic x509asn1 code used by Schannel, GnuTLS and others ("2026-12-23 12:04:41 GMT").
_EXPIRY_FORMATS = ("%b %d %H:%M:%S %Y GMT", "%Y-%m-%d %H:%M:%S GMT", "%Y-%m-%d %H:%M:%S")

# libcurl error codes (https://curl.se/libcurl/c/libcurl-errors.html) by class.
_TLS_CODES = frozenset({35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})
_TIMEOUT_CODES = frozenset({28})
_DNS_CODES = frozenset({5, 6})
_CONNECT_CODES = frozenset({7})


class ErrorClass(StrEnum):
    """Why a probe failed; the collector's root-cause logic reads these words."""

    DNS = "dns"
    CONNECT_REFUSED = "connect_refused"
    CONNECT_FAILED = "connect_failed"
    TIMEOUT = "timeout"
    TLS = "tls"
    HTTP_5XX = "http_5xx"
    HTTP_4XX = "http_4xx"
    MAINTENANCE = "maintenance"
    MARKER_MISSING = "marker_missing"
    TRANSFER_ERROR = "transfer_error"


class ProbeError(CheckError):
    """A probe failed, with its class, libcurl's code (if any) and message."""

    def __init__(self, error_class: ErrorClass, message: str, curl_code: int | None = None) -> None:
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.message = message
        self.curl_code = curl_code


class ProbeTarget(BaseModel):
    """One URL to probe and what its page must (not) contain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Short name, e.g. 'motcua', 'dvcqg'")
    url: str = Field(description="http:// or https:// URL, e.g. the login page")
    expected_marker: str | None = Field(
        default=None, min_length=1, description="Text the page must contain (e.g. the login form)"
    )
    maintenance_markers: tuple[str, ...] = Field(
        default=DEFAULT_MAINTENANCE_MARKERS,
        description="Text that means the system is down for maintenance (case-insensitive)",
    )
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    verify_tls: bool = Field(default=True, description="Verify the server certificate")
    ca_file: str | None = Field(
        default=None, description="PEM file of the CA (or the self-signed certificate) to trust"
    )
    follow_redirects: bool = Field(default=False, description="Follow up to 5 redirects")
    max_body_bytes: int = Field(
        default=1_048_576, ge=0, le=16 * 1_048_576, description="Body kept for marker checks"
    )
    device_id: DeviceId | None = Field(default=None, description="Default: probe:<name>@<pc>")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
        if parts.username or parts.password:
            # Credentials in a URL end up in logs and events; probes fetch public pages.
            raise ValueError(f"{value!r}: credentials in the URL are not allowed")
        return value

    @property
    def host(self) -> str:
        """The URL's host, the ``host`` label of every sample."""
        return (urlsplit(self.url).hostname or "").lower()


class HttpProbeConfig(CheckConfig):
    """Settings of the ``http_probe`` check."""

    targets: tuple[ProbeTarget, ...] = Field(default=(), max_length=50)
    max_concurrency: int = Field(default=4, ge=1, le=16, description="Probes running at once")
    user_agent: str = Field(default="commune-agent/0.1 (http_probe)", max_length=200)
    pc_device_id: DeviceId | None = Field(
        default=None, description="The PC probing (part of each device id); default: host name"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> HttpProbeConfig:
        names = [t.name for t in self.targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"targets: duplicate names {', '.join(duplicates)}")
        return self


@dataclass(frozen=True, slots=True)
class Timings:
    """libcurl's cumulative times of one transfer, in seconds from its start (0: not reached)."""

    namelookup: float = 0.0
    connect: float = 0.0
    appconnect: float = 0.0
    pretransfer: float = 0.0
    starttransfer: float = 0.0
    total: float = 0.0


def phase_durations(t: Timings, answered: bool = True) -> dict[str, float]:
    """Per-phase durations from cumulative times; phases not reached are left out.

    ``answered``: whether a response arrived. libcurl stamps PRETRANSFER and STARTTRANSFER when a
    failed transfer ends, so without an answer ttfb and transfer would be made-up numbers.
    """
    phases: dict[str, float] = {}
    if t.namelookup > 0 or t.connect > 0:
        phases["dns"] = t.namelookup
    if t.connect > 0:
        phases["connect"] = max(0.0, t.connect - t.namelookup)
    if t.appconnect > 0:
        phases["tls"] = max(0.0, t.appconnect - t.connect)
    if answered and t.starttransfer > 0:
        phases["ttfb"] = max(0.0, t.starttransfer - max(t.pretransfer, t.appconnect, t.connect))
        phases["transfer"] = max(0.0, t.total - t.starttransfer)
    phases["total"] = max(0.0, t.total)
    return phases


def classify_curl_error(code: int, os_errno: int = 0) -> ErrorClass:
    """The class of a libcurl error code (the one place where pycurl errors are translated)."""
    if code in _DNS_CODES:
        return ErrorClass.DNS
    if code in _TIMEOUT_CODES:
        return ErrorClass.TIMEOUT
    if code in _TLS_CODES:
        return ErrorClass.TLS
    if code in _CONNECT_CODES:
        if os_errno in {errno.ETIMEDOUT, getattr(errno, "WSAETIMEDOUT", -1)}:
            return ErrorClass.TIMEOUT
        # Refused = something answered with a reset (service down); other errnos (no route,
        # network unreachable) mean the path is broken.
        refused = {errno.ECONNREFUSED, getattr(errno, "WSAECONNREFUSED", -1)}
        return ErrorClass.CONNECT_REFUSED if os_errno in refused else ErrorClass.CONNECT_FAILED
    return ErrorClass.TRANSFER_ERROR


def parse_cert_expiry(text: str) -> datetime | None:
    """The UTC time of a libcurl CERTINFO "Expire date", or None if not understood."""
    cleaned = " ".join(text.split())
    for fmt in _EXPIRY_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _leaf_certinfo(certinfo: Any) -> dict[str, str]:
    """Fields of the first (server) certificate in libcurl's CERTINFO."""
    try:
        first = certinfo[0]
        return {str(key): str(value) for key, value in first}
    except (IndexError, TypeError, ValueError):
        return {}


def page_text(body: bytes, content_type: str | None) -> str:
    """The page as comparable text: charset-decoded, entities resolved, NFC, case-folded.

    Vietnamese pages come in NFC or NFD ("bảo trì" as one or two code points per letter) and with
    HTML entities (``b&#7843;o tr&#236;``); both forms must match a configured marker.
    """
    encoding = "utf-8"
    match = _CHARSET.search(content_type or "")
    if match:
        try:
            encoding = codecs.lookup(match.group(1)).name
        except LookupError:
            encoding = "utf-8"
    text = body.decode(encoding, errors="replace")
    return unicodedata.normalize("NFC", html.unescape(text)).casefold()


def _normal(marker: str) -> str:
    return unicodedata.normalize("NFC", marker).casefold()


@dataclass(slots=True)
class Transfer:
    """What one libcurl transfer gave: timings, answer, certificate, or a classified error."""

    timings: Timings = field(default_factory=Timings)
    status: int = 0
    size: float = 0.0
    content_type: str | None = None
    body: bytes = b""
    primary_ip: str = ""
    certificate: dict[str, str] = field(default_factory=dict)
    error: ProbeError | None = None


def _info(curl: Any, name: str, scale: float = 1e-6) -> float:
    """A numeric getinfo value, preferring libcurl's ``*_T`` variant (integers: µs or bytes).

    The double-valued variants are deprecated in libcurl and pycurl warns about some of them.
    """
    modern = getattr(pycurl, f"{name}_T", None)
    if modern is not None:
        return float(curl.getinfo(modern) or 0) * scale
    return float(curl.getinfo(getattr(pycurl, name)) or 0.0)


def perform(target: ProbeTarget, user_agent: str) -> Transfer:
    """Fetch ``target`` once with a fresh libcurl handle (blocking; run it in a thread)."""
    body = bytearray()
    limit = target.max_body_bytes

    def write(chunk: bytes) -> int:
        if len(body) < limit:
            body.extend(chunk[: limit - len(body)])
        return len(chunk)  # keep reading past the limit so size and total time are real

    https = target.url.lower().startswith("https:")
    curl = pycurl.Curl()
    result = Transfer()
    try:
        # Bytes: pycurl refuses non-ASCII str (an IDN host); libcurl then reports the failure.
        curl.setopt(pycurl.URL, target.url.encode("utf-8"))
        curl.setopt(pycurl.NOSIGNAL, 1)  # required with threads: no SIGALRM for DNS timeouts
        curl.setopt(pycurl.TIMEOUT_MS, int(target.timeout_seconds * 1000))
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(target.timeout_seconds * 1000))
        curl.setopt(pycurl.FRESH_CONNECT, 1)
        curl.setopt(pycurl.FORBID_REUSE, 1)
        curl.setopt(pycurl.USERAGENT, user_agent)
        curl.setopt(pycurl.ACCEPT_ENCODING, "")  # gzip/deflate like a browser
        curl.setopt(pycurl.NOPROXY, "localhost,127.0.0.1,::1")
        curl.setopt(pycurl.WRITEFUNCTION, write)
        if target.follow_redirects:
            curl.setopt(pycurl.FOLLOWLOCATION, 1)
            curl.setopt(pycurl.MAXREDIRS, 5)
        if https:
            curl.setopt(pycurl.OPT_CERTINFO, 1)
            curl.setopt(pycurl.SSL_VERIFYPEER, 1 if target.verify_tls else 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 2 if target.verify_tls else 0)
            if target.ca_file:
                curl.setopt(pycurl.CAINFO, target.ca_file)
            elif sys.platform == "win32" and target.verify_tls:
                # An OpenSSL-built libcurl on Windows has no CA bundle: use the Windows store.
                native = getattr(pycurl, "SSLOPT_NATIVE_CA", 0)
                if native:
                    curl.setopt(pycurl.SSL_OPTIONS, native)
        try:
            curl.perform()
        except pycurl.error as exc:
            code = int(exc.args[0]) if exc.args else -1
            message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
            os_errno = int(curl.getinfo(pycurl.OS_ERRNO) or 0)
            result.error = ProbeError(classify_curl_error(code, os_errno), message, code)
        result.timings = Timings(
            namelookup=_info(curl, "NAMELOOKUP_TIME"),
            connect=_info(curl, "CONNECT_TIME"),
            appconnect=_info(curl, "APPCONNECT_TIME"),
            pretransfer=_info(curl, "PRETRANSFER_TIME"),
            starttransfer=_info(curl, "STARTTRANSFER_TIME"),
            total=_info(curl, "TOTAL_TIME"),
        )
        result.status = int(curl.getinfo(pycurl.RESPONSE_CODE) or 0)
        result.size = _info(curl, "SIZE_DOWNLOAD", scale=1.0)
        result.content_type = curl.getinfo(pycurl.CONTENT_TYPE)
        result.primary_ip = curl.getinfo(pycurl.PRIMARY_IP) or ""
        if https:
            try:
                result.certificate = _leaf_certinfo(curl.getinfo(pycurl.INFO_CERTINFO))
            except pycurl.error:
                result.certificate = {}
    finally:
        curl.close()
    result.body = bytes(body)
    return result


def judge(target: ProbeTarget, transfer: Transfer) -> tuple[ProbeError | None, bool, bool]:
    """The failure of an answered transfer, if any, with (maintenance, marker found)."""
    text = page_text(transfer.body, transfer.content_type)
    maintenance = any(_normal(m) in text for m in target.maintenance_markers if m)
    marker = target.expected_marker is None or _normal(target.expected_marker) in text
    if transfer.error is not None:
        return transfer.error, maintenance, marker
    if maintenance:
        found = next(m for m in target.maintenance_markers if m and _normal(m) in text)
        error = ProbeError(ErrorClass.MAINTENANCE, f"the page announces maintenance ({found!r})")
    elif transfer.status >= 500:
        error = ProbeError(ErrorClass.HTTP_5XX, f"HTTP status {transfer.status}")
    elif transfer.status >= 400:
        error = ProbeError(ErrorClass.HTTP_4XX, f"HTTP status {transfer.status}")
    elif not marker:
        error = ProbeError(
            ErrorClass.MARKER_MISSING, f"expected text {target.expected_marker!r} not in the page"
        )
    else:
        error = None
    return error, maintenance, marker


class HttpProbeCheck:
    """The ``http_probe`` check: one ``service`` device report per configured URL."""

    name: ClassVar[str] = "http_probe"
    config_model: ClassVar[type[CheckConfig]] = HttpProbeConfig

    def __init__(
        self, config: HttpProbeConfig | None = None, *, clock: Clock | None = None
    ) -> None:
        self.config = config or HttpProbeConfig()
        self._clock: Clock = clock or SystemClock()
        self._pc = pc_device_id(self.config.pc_device_id)

    async def collect(self) -> list[DeviceReport]:
        """Probe every target concurrently (bounded); never raises for a failed probe."""
        limit = asyncio.Semaphore(self.config.max_concurrency)

        async def bounded(target: ProbeTarget) -> DeviceReport:
            async with limit:
                return await self.probe(target)

        return list(await asyncio.gather(*(bounded(t) for t in self.config.targets)))

    async def probe(self, target: ProbeTarget) -> DeviceReport:
        """Probe one target and report it as a ``service`` device."""
        try:
            transfer = await asyncio.to_thread(perform, target, self.config.user_agent)
        except (pycurl.error, OSError, ValueError) as exc:
            # An option libcurl refused (e.g. a feature missing from this build): still a report.
            transfer = Transfer(error=ProbeError(ErrorClass.TRANSFER_ERROR, str(exc)))
        answered = transfer.status > 0
        error, maintenance, marker = judge(target, transfer)
        labels = {"target": target.name, "host": target.host}
        samples = [Sample(name="probe_success", value=0.0 if error else 1.0, labels=labels)]
        for phase, seconds in phase_durations(transfer.timings, answered).items():
            samples.append(
                Sample(
                    name="probe_duration_seconds", value=seconds, labels={**labels, "phase": phase}
                )
            )
        if answered:
            samples += [
                Sample(name="probe_http_status", value=float(transfer.status), labels=labels),
                Sample(name="probe_response_size_bytes", value=transfer.size, labels=labels),
                Sample(name="probe_maintenance", value=float(maintenance), labels=labels),
            ]
            if target.expected_marker is not None:
                samples.append(
                    Sample(name="probe_marker_found", value=float(marker), labels=labels)
                )
        expiry = parse_cert_expiry(transfer.certificate.get("Expire date", ""))
        expiry_days: float | None = None
        if expiry is not None:
            expiry_days = (expiry - self._clock.now()).total_seconds() / 86_400
            samples.append(
                Sample(name="probe_tls_cert_expiry_days", value=expiry_days, labels=labels)
            )
        facts = {"url": target.url[:500], "host": target.host, "checked_from": self._pc}
        if transfer.primary_ip:
            facts["resolved_ip"] = transfer.primary_ip
        for fact, key in (
            ("tls_subject", "Subject"),
            ("tls_issuer", "Issuer"),
            ("tls_not_after", "Expire date"),
        ):
            if transfer.certificate.get(key):
                facts[fact] = transfer.certificate[key][:500]
        events = [] if error is None else [self._event(target, transfer, error, expiry_days)]
        if error is not None:
            log.info(
                "probe failed",
                extra={"target": target.name, "error_class": str(error.error_class)},
            )
        return DeviceReport(
            device_id=target.device_id or path_device_id("probe", target.name, self._pc),
            kind=DeviceKind.SERVICE,
            samples=samples,
            events=events,
            facts=facts,
        )

    @staticmethod
    def _event(
        target: ProbeTarget, transfer: Transfer, error: ProbeError, expiry_days: float | None
    ) -> Event:
        attrs = {
            "target": target.name,
            "url": target.url[:200],
            "error_class": str(error.error_class),
            "detail": error.message[:200],
        }
        if error.curl_code is not None:
            attrs["curl_code"] = str(error.curl_code)
        if transfer.status:
            attrs["http_status"] = str(transfer.status)
        if expiry_days is not None and error.error_class is ErrorClass.TLS:
            attrs["cert_expiry_days"] = f"{expiry_days:.1f}"
        return Event(
            type="probe_failed",
            severity=Severity.WARNING,
            message=f"{target.name} ({target.url}): {error.error_class}: {error.message}"[:2000],
            attrs=attrs,
        )


__all__ = [
    "DEFAULT_MAINTENANCE_MARKERS",
    "ErrorClass",
    "HttpProbeCheck",
    "HttpProbeConfig",
    "ProbeError",
    "ProbeTarget",
    "Timings",
    "Transfer",
    "classify_curl_error",
    "judge",
    "page_text",
    "parse_cert_expiry",
    "perform",
    "phase_durations",
]
