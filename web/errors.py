"""Errors of the web console.

WebError
├── AccountError       a user cannot be created as asked (names the field)
├── LoginRefused       wrong user name or password (never says which)
├── TooManyAttempts    the login limit is spent for this account and address, this address or
│                      this account (says when to try again)
├── LoginBusy          every password-check slot is taken (says when to try again)
└── BadForm            a form field is missing or invalid (names the field)
"""

from __future__ import annotations

import math


class WebError(Exception):
    """Base of the console's errors."""


class AccountError(WebError):
    """A user cannot be created as asked."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class LoginRefused(WebError):
    """Wrong user name or password."""

    def __init__(self) -> None:
        super().__init__("wrong user name or password")


class TooManyAttempts(WebError):
    """Too many failed logins in the window; the next attempt is counted again after
    ``retry_after`` seconds."""

    def __init__(self, retry_after: int, limit: str) -> None:
        super().__init__(f"too many failed logins ({limit}); try again in {retry_after} seconds")
        self.retry_after = retry_after
        self.limit = limit

    @property
    def minutes(self) -> int:
        """``retry_after`` in whole minutes, rounded up (what the login page says)."""
        return max(1, math.ceil(self.retry_after / 60))


class LoginBusy(WebError):
    """Every argon2 slot stayed taken for the whole wait (each check holds 64 MiB)."""

    def __init__(self, retry_after: int, in_flight: int) -> None:
        super().__init__(
            f"{in_flight} password checks already running; try again in {retry_after} seconds"
        )
        self.retry_after = retry_after
        self.in_flight = in_flight


class BadForm(WebError):
    """A form field is missing or invalid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
