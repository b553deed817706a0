"""Errors of the web console.

WebError
├── AccountError       a user cannot be created as asked (names the field)
├── LoginRefused       wrong user name or password (never says which)
├── TooManyAttempts    the login rate limit is spent for this account or address
└── BadForm            a form field is missing or invalid (names the field)
"""

from __future__ import annotations


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
    """Too many failed logins in the window."""

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many failed logins; wait up to {minutes} minutes")
        self.minutes = minutes


class BadForm(WebError):
    """A form field is missing or invalid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
