"""Channel addresses (alerts/channels.py): the scheme of an apprise URL, which URLs apprise takes,
and secrets masked in the libraries' log records."""

from __future__ import annotations

import logging
import secrets

import pytest

from alerts.channels import (
    LOG_FILTER,
    _SecretLogFilter,
    apprise_url_valid,
    guard_library_logs,
    scheme_of,
)


def _record(name: str, level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("tgram://123:abc/456", "tgram"),
        ("https://hooks.example/x", "https"),
        ("kythuat@xa.example.gov.vn", "?"),
        ("", "?"),
    ],
)
def test_the_scheme_is_the_part_before_the_separator(url: str, scheme: str) -> None:
    assert scheme_of(url) == scheme


def test_apprise_takes_only_urls_it_has_a_plugin_for() -> None:
    assert apprise_url_valid("json://127.0.0.1:9/hook")
    assert not apprise_url_valid("nosuchscheme://x/y")
    assert not apprise_url_valid("not a url")


def test_a_known_secret_is_masked_in_a_record_with_arguments() -> None:
    log_filter = _SecretLogFilter()
    token = secrets.token_hex(8)
    record = _record("httpx", logging.INFO, "POST %s done", f"https://api/{token}/send")
    assert log_filter.filter(record)  # nothing to mask yet: kept as it is
    assert record.args is not None
    log_filter.add([token, "abc"])  # a value shorter than 4 characters is never masked
    record = _record("httpx", logging.INFO, "POST %s abc", f"https://api/{token}/send")
    assert log_filter.filter(record)
    assert record.getMessage() == "POST https://api/***/send abc"
    assert record.args is None


def test_debug_records_of_apprise_and_urllib3_are_dropped_and_others_kept() -> None:
    log_filter = _SecretLogFilter()
    assert not log_filter.filter(_record("apprise", logging.DEBUG, "loading tgram://x"))
    assert not log_filter.filter(_record("urllib3.connectionpool", logging.DEBUG, "GET /x"))
    assert log_filter.filter(_record("httpx", logging.DEBUG, "GET /x"))
    assert log_filter.filter(_record("apprise", logging.INFO, "sent"))


def test_the_oldest_secrets_are_forgotten_beyond_the_bound() -> None:
    log_filter = _SecretLogFilter()
    values = [f"secret-{number:05d}" for number in range(log_filter._LIMIT + 1)]
    log_filter.add(values)
    log_filter.add([values[-1]])  # a value already known is not added twice
    first = _record("httpx", logging.INFO, values[0])
    last = _record("httpx", logging.INFO, values[-1])
    assert log_filter.filter(first)
    assert log_filter.filter(last)
    assert first.getMessage() == values[0]
    assert last.getMessage() == "***"


def test_the_guard_is_installed_once_on_each_library_logger() -> None:
    guard_library_logs()
    guard_library_logs()
    for name in ("httpx", "apprise", "urllib3.connectionpool"):
        assert logging.getLogger(name).filters.count(LOG_FILTER) == 1
