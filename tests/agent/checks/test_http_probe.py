"""The http_probe check against real servers on 127.0.0.1: phases, TLS, content, error classes."""

from __future__ import annotations

import socket
import time
import unicodedata
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from agent.checks.http_probe import (
    DEFAULT_MAINTENANCE_MARKERS,
    ErrorClass,
    HttpProbeCheck,
    HttpProbeConfig,
    ProbeTarget,
    Timings,
    classify_curl_error,
    page_text,
    parse_cert_expiry,
    phase_durations,
)
from agent.wire import DeviceReport
from tests.agent.checks.helpers import (
    LOGIN_MARKER,
    SLOW_DELAY_SECONDS,
    Certificate,
    FakeClock,
    assert_catalogued,
    days_until,
    http_server,
    make_self_signed_cert,
    server_tls_context,
    silent_listener,
)
from tests.services import free_port


@pytest.fixture(scope="module")
def http_base():
    with http_server() as base:
        yield base


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Certificate:
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"), days=30)


@pytest.fixture(scope="module")
def https_base(certificate):
    with http_server(server_tls_context(certificate)) as base:
        yield base


async def probe(**target) -> DeviceReport:
    check = HttpProbeCheck(
        HttpProbeConfig(targets=[ProbeTarget(name="motcua", **target)], pc_device_id="pc-01"),
        clock=FakeClock(),
    )
    [report] = await check.collect()
    assert_catalogued([report])
    return report


def values(report: DeviceReport) -> dict[str, float]:
    found = {}
    for sample in report.samples:
        key = sample.name
        if "phase" in sample.labels:
            key = f"{sample.name}.{sample.labels['phase']}"
        found[key] = sample.value
    return found


def error_class(report: DeviceReport) -> str | None:
    events = [e for e in report.events if e.type == "probe_failed"]
    assert len(events) <= 1
    return events[0].attrs["error_class"] if events else None


async def test_http_probe_measures_real_phases_over_plain_http(http_base):
    report = await probe(url=f"{http_base}/login", expected_marker=LOGIN_MARKER)
    got = values(report)
    assert report.device_id == "probe:motcua@pc-01"
    assert report.facts["checked_from"] == "pc-01"
    assert report.kind == "service"
    assert got["probe_success"] == 1.0
    assert got["probe_http_status"] == 200
    assert got["probe_response_size_bytes"] > 100
    assert got["probe_marker_found"] == 1.0
    assert got["probe_maintenance"] == 0.0
    for phase in ("dns", "connect", "ttfb", "transfer", "total"):
        assert got[f"probe_duration_seconds.{phase}"] >= 0
    assert "probe_duration_seconds.tls" not in got  # plain HTTP has no TLS phase
    parts = sum(got[f"probe_duration_seconds.{p}"] for p in ("dns", "connect", "ttfb", "transfer"))
    assert parts <= got["probe_duration_seconds.total"] + 1e-6
    assert report.events == []
    for sample in report.samples:
        assert sample.labels["target"] == "motcua"
        assert sample.labels["host"] == "127.0.0.1"
    assert report.facts["resolved_ip"] == "127.0.0.1"


async def test_http_probe_slow_server_moves_ttfb_not_connect(http_base):
    report = await probe(url=f"{http_base}/slow")
    got = values(report)
    assert got["probe_success"] == 1.0
    assert got["probe_duration_seconds.ttfb"] >= SLOW_DELAY_SECONDS * 0.9
    assert got["probe_duration_seconds.connect"] < SLOW_DELAY_SECONDS / 2
    assert got["probe_duration_seconds.total"] >= got["probe_duration_seconds.ttfb"]


async def test_http_probe_tls_phase_and_expiry_with_verification_off(https_base, certificate):
    report = await probe(url=f"{https_base}/login", verify_tls=False)
    got = values(report)
    assert got["probe_success"] == 1.0
    assert got["probe_duration_seconds.tls"] > 0
    assert got["probe_tls_cert_expiry_days"] == pytest.approx(
        days_until(certificate.not_after), abs=0.01
    )
    assert report.facts["tls_subject"] == "CN = 127.0.0.1"


async def test_http_probe_pinned_ca_file_verifies_a_self_signed_certificate(
    https_base, certificate
):
    report = await probe(url=f"{https_base}/login", ca_file=str(certificate.cert_path))
    got = values(report)
    assert got["probe_success"] == 1.0
    assert got["probe_duration_seconds.tls"] > 0
    assert got["probe_tls_cert_expiry_days"] == pytest.approx(29.99, abs=0.02)


async def test_http_probe_untrusted_certificate_is_a_tls_error_with_its_expiry(https_base):
    report = await probe(url=f"{https_base}/login")  # verification on, no pinned CA
    got = values(report)
    assert got["probe_success"] == 0.0
    assert error_class(report) == "tls"
    assert "probe_http_status" not in got
    assert got["probe_tls_cert_expiry_days"] == pytest.approx(29.99, abs=0.02)
    [event] = report.events
    assert float(event.attrs["cert_expiry_days"]) == pytest.approx(30, abs=0.1)
    assert event.attrs["curl_code"] == "60"


@pytest.mark.parametrize(
    ("path", "expected_status", "expected_class"),
    [
        ("/maintenance", 200, "maintenance"),  # maintenance pages often come with 200...
        ("/maintenance503", 503, "maintenance"),  # ...or 503: the marker wins over the status
        ("/error", 500, "http_5xx"),
        ("/nothing-here", 404, "http_4xx"),
        ("/other", 200, "marker_missing"),
        ("/redirect", 302, "marker_missing"),  # redirects are not followed by default
    ],
)
async def test_http_probe_classifies_bad_answers(http_base, path, expected_status, expected_class):
    report = await probe(url=f"{http_base}{path}", expected_marker=LOGIN_MARKER)
    got = values(report)
    assert got["probe_success"] == 0.0
    assert got["probe_http_status"] == expected_status
    assert error_class(report) == expected_class
    assert got["probe_maintenance"] == float(expected_class == "maintenance")
    # The server answered, so its phases are real.
    assert got["probe_duration_seconds.ttfb"] >= 0


async def test_http_probe_follows_redirects_when_asked(http_base):
    report = await probe(
        url=f"{http_base}/redirect", expected_marker=LOGIN_MARKER, follow_redirects=True
    )
    assert values(report)["probe_success"] == 1.0
    assert values(report)["probe_http_status"] == 200


async def test_http_probe_refused_port_is_connect_refused():
    report = await probe(url=f"http://127.0.0.1:{free_port()}/login")
    got = values(report)
    assert got["probe_success"] == 0.0
    assert error_class(report) == "connect_refused"
    assert report.events[0].attrs["curl_code"] == "7"
    # No answer: no status, no made-up ttfb.
    assert "probe_http_status" not in got
    assert "probe_duration_seconds.ttfb" not in got
    assert "probe_duration_seconds.total" in got


async def test_http_probe_silent_server_is_a_timeout_after_connect():
    with silent_listener() as port:
        start = time.perf_counter()
        report = await probe(url=f"http://127.0.0.1:{port}/login", timeout_seconds=0.3)
        elapsed = time.perf_counter() - start
    got = values(report)
    assert error_class(report) == "timeout"
    assert "probe_duration_seconds.connect" in got  # connected, then nothing came
    assert "probe_duration_seconds.ttfb" not in got
    assert got["probe_duration_seconds.total"] == pytest.approx(0.3, abs=0.1)
    assert elapsed < 2


async def test_http_probe_unknown_host_is_dns():
    try:
        socket.getaddrinfo("nonexistent.invalid", 80)
    except OSError:
        pass
    else:
        pytest.skip("this resolver answers for .invalid names")
    report = await probe(url="https://nonexistent.invalid/login", timeout_seconds=5)
    assert error_class(report) == "dns"
    assert report.events[0].attrs["curl_code"] == "6"


async def test_http_probe_runs_targets_concurrently(http_base):
    targets = [ProbeTarget(name=f"slow{i}", url=f"{http_base}/slow") for i in range(3)]
    check = HttpProbeCheck(HttpProbeConfig(targets=targets, max_concurrency=3, pc_device_id="pc"))
    start = time.perf_counter()
    reports = await check.collect()
    elapsed = time.perf_counter() - start
    assert [r.device_id for r in reports] == ["probe:slow0@pc", "probe:slow1@pc", "probe:slow2@pc"]
    assert all(values(r)["probe_success"] == 1.0 for r in reports)
    assert elapsed < 2 * SLOW_DELAY_SECONDS  # three 0.25 s waits overlapped, not 0.75 s in a row


async def test_http_probe_bounded_concurrency_serialises(http_base):
    targets = [ProbeTarget(name=f"slow{i}", url=f"{http_base}/slow") for i in range(2)]
    check = HttpProbeCheck(HttpProbeConfig(targets=targets, max_concurrency=1))
    start = time.perf_counter()
    await check.collect()
    assert time.perf_counter() - start >= 2 * SLOW_DELAY_SECONDS * 0.9


# ----------------------------------------------------------------------------- pure parts


def test_phase_durations_turn_cumulative_times_into_phases():
    timings = Timings(
        namelookup=0.010,
        connect=0.030,
        appconnect=0.080,
        pretransfer=0.081,
        starttransfer=0.281,
        total=0.300,
    )
    assert phase_durations(timings) == pytest.approx(
        {
            "dns": 0.010,
            "connect": 0.020,
            "tls": 0.050,
            "ttfb": 0.200,
            "transfer": 0.019,
            "total": 0.3,
        }
    )
    # libcurl stamps pretransfer/starttransfer when a failed transfer ends: not phases.
    failed = Timings(namelookup=0.00004, pretransfer=0.0004, starttransfer=0.0004, total=0.0004)
    assert phase_durations(failed, answered=False) == pytest.approx(
        {"dns": 0.00004, "total": 0.0004}
    )


@pytest.mark.parametrize(
    ("code", "os_errno", "expected"),
    [
        (6, 0, ErrorClass.DNS),
        (7, 111, ErrorClass.CONNECT_REFUSED),
        (7, 113, ErrorClass.CONNECT_FAILED),  # no route to host
        (7, 110, ErrorClass.TIMEOUT),
        (28, 0, ErrorClass.TIMEOUT),
        (35, 0, ErrorClass.TLS),
        (60, 0, ErrorClass.TLS),
        (77, 0, ErrorClass.TLS),  # CA file missing
        (52, 0, ErrorClass.TRANSFER_ERROR),  # empty reply
        (56, 104, ErrorClass.TRANSFER_ERROR),  # reset while receiving
    ],
)
def test_curl_errors_are_classified_at_one_boundary(code, os_errno, expected):
    assert classify_curl_error(code, os_errno) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dec 23 12:04:41 2026 GMT", datetime(2026, 12, 23, 12, 4, 41, tzinfo=UTC)),  # OpenSSL
        ("Mar  1 00:00:00 2027 GMT", datetime(2027, 3, 1, tzinfo=UTC)),
        ("2026-12-23 12:04:41 GMT", datetime(2026, 12, 23, 12, 4, 41, tzinfo=UTC)),  # Schannel
        ("not a date", None),
        ("", None),
    ],
)
def test_certificate_expiry_formats(text, expected):
    assert parse_cert_expiry(text) == expected


def test_page_text_matches_vietnamese_in_any_normal_form_and_entities():
    nfd = unicodedata.normalize("NFD", "Hệ thống ĐANG BẢO TRÌ").encode("utf-8")
    assert "đang bảo trì" in page_text(nfd, "text/html; charset=utf-8")
    entities = "Hệ thống đang b&#7843;o tr&igrave;".encode()
    assert "đang bảo trì" in page_text(entities, None)
    # Windows-1258 writes tones as combining marks: it decodes to NFD, normalised to match.
    legacy = unicodedata.normalize("NFD", "đang bảo trì").encode("cp1258")
    assert "đang bảo trì" in page_text(legacy, "text/html; charset=windows-1258")
    assert page_text(b"\xff\xfe", "text/html; charset=no-such-charset")  # no crash


def test_probe_config_validation_names_the_problem():
    assert ProbeTarget(name="x", url="https://a.gov.vn/").maintenance_markers == (
        DEFAULT_MAINTENANCE_MARKERS
    )
    with pytest.raises(ValidationError, match="http:// or https://"):
        ProbeTarget(name="x", url="ftp://a.gov.vn/")
    with pytest.raises(ValidationError, match="credentials"):
        ProbeTarget(name="x", url="https://user:pw@a.gov.vn/")
    with pytest.raises(ValidationError, match="duplicate"):
        HttpProbeConfig(targets=[ProbeTarget(name="x", url="https://a.gov.vn/")] * 2)
    with pytest.raises(ValidationError):
        ProbeTarget(name="Bad Name", url="https://a.gov.vn/")
