"""Channel addresses: what a routing file may name, and their secrets kept out of library logs.

Shared by the routing (which checks each address when the file loads) and the notifiers (which
send to it); apprise URLs and webhook URLs often carry a bot token in the URL itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import apprise


class _SecretLogFilter(logging.Filter):
    """Masks secret values in the log records of the notifiers' libraries, and drops the DEBUG
    records of apprise and of urllib3 (apprise's HTTP client), which print request URLs, so a
    token written straight into routing.yaml stays out of debug logs too."""

    _LIMIT = 1_000

    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[str, None] = {}

    def add(self, secrets: Sequence[str]) -> None:
        """Mask these values from now on (the oldest are forgotten beyond a bound)."""
        for secret in secrets:
            if len(secret) >= 4 and secret not in self._secrets:
                if len(self._secrets) >= self._LIMIT:
                    self._secrets.pop(next(iter(self._secrets)))
                self._secrets[secret] = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO and record.name in _QUIET_DEBUG:
            return False
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self._secrets:
            if secret in masked:
                masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


# One filter for the process, as logging's loggers are process-wide too. A logger's filters
# see only the records logged on it, not its children's: each logger that prints a request URL
# is named (httpx at INFO; apprise and urllib3's connection pool at DEBUG).
LOG_FILTER = _SecretLogFilter()
_QUIET_DEBUG = frozenset({"apprise", "urllib3.connectionpool"})
_GUARDED_LOGGERS = ("httpx", "apprise", "urllib3.connectionpool")


def guard_library_logs() -> None:
    """Install the filter on the libraries' loggers (idempotent)."""
    for name in _GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if LOG_FILTER not in logger.filters:
            logger.addFilter(LOG_FILTER)


def scheme_of(url: str) -> str:
    """The scheme of an apprise URL (its part that is never secret)."""
    return url.split("://", 1)[0] if "://" in url else "?"


def apprise_url_valid(url: str) -> bool:
    """Whether apprise has a plugin for the URL and accepts its parameters."""
    guard_library_logs()  # apprise logs the whole URL (a bot token) at DEBUG when it loads it
    return apprise.Apprise.instantiate(url) is not None
