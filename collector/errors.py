"""Exceptions of the collector.

CollectorError
├── ConfigError            bad settings or configuration file
├── NotFound               a named thing does not exist (commune, agent, token)
├── AuthError              missing, unknown or revoked credentials (HTTP 401)
├── Forbidden              authenticated but not allowed (HTTP 403)
├── Conflict               the request contradicts stored state (HTTP 409)
└── ReportRejected         a report batch is invalid (HTTP 400/413/422); carries the field
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base of every error the collector raises on purpose."""


class ConfigError(CollectorError):
    """Settings or a configuration file are invalid."""


class NotFound(CollectorError):
    """A named thing does not exist."""


class AuthError(CollectorError):
    """Credentials are missing, unknown or revoked."""


class Forbidden(CollectorError):
    """The caller is authenticated but may not do this."""


class Conflict(CollectorError):
    """The request contradicts what is stored (token already used, sequence went backwards)."""


class ReportRejected(CollectorError):
    """A report batch is invalid; ``field`` names where, ``status`` the HTTP code to answer."""

    def __init__(self, message: str, *, field: str = "body", status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def http_status(exc: CollectorError) -> int:
    """The HTTP status that answers ``exc`` on any route."""
    for cls, code in _STATUS:
        if isinstance(exc, cls):
            return code
    if isinstance(exc, ReportRejected):
        return exc.status
    return 400


_STATUS: tuple[tuple[type[CollectorError], int], ...] = (
    (AuthError, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (ConfigError, 422),
)
