"""Errors of the agent runtime (settings, enrolment, identity, central config, sending).

Exception tree (each carries the values that went wrong):

- ``AgentError``: base of every error the agent runtime raises
    - ``IdentityError``: the stored identity cannot be used
        - ``NotEnrolled``: there is no identity file yet
        - ``IdentityUnreadable``: the file exists but cannot be read or is not valid
    - ``EnrolError``: the collector refused enrolment, or could not be reached
    - ``ConfigRejected``: a central configuration is not valid for this agent
    - ``agent.sender.SendError``: a batch was not acknowledged (``retryable``: worth retrying)

Check errors have their own tree in ``agent.checks.common`` and never leave a check.
"""

from __future__ import annotations

from pathlib import Path


class AgentError(Exception):
    """Base of the agent runtime's errors."""


class IdentityError(AgentError):
    """The stored identity (agent id and token) cannot be used."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class NotEnrolled(IdentityError):
    """No identity file: the agent has not been enrolled on this PC."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"not enrolled: {path} does not exist; run "
            "'commune-agent enrol --server URL --token TOKEN' first",
            path,
        )


class IdentityUnreadable(IdentityError):
    """The identity file exists but cannot be read or does not hold a valid identity."""


class EnrolError(AgentError):
    """Enrolment failed; ``status`` is the HTTP status when the collector answered."""

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.field = field


class ConfigRejected(AgentError):
    """A central configuration that this agent cannot run; the previous one stays in force."""

    def __init__(self, problems: list[str], etag: str | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.etag = etag
