"""Errors of the SNMP poller, raised at one boundary (the client) and reported per target.

Exception tree::

    SnmpError                      base of everything this package raises
    ├── SnmpConfigError            a profile or catalogue file is invalid (names file and field)
    ├── SnmpTransportError         the request could not be sent (DNS, socket)
    ├── SnmpTimeout                no answer within timeout × (retries + 1)
    ├── SnmpAuthError              SNMPv3 user, key or context rejected
    ├── SnmpProtocolError          the agent answered something we cannot use
    │   ├── SnmpErrorStatus        the agent answered with a PDU error-status (RFC 3416 §3)
    │   ├── SnmpOidNotIncreasing   a walk went backwards or stood still (agent loop)
    │   └── SnmpTableTooLarge      a walk exceeded its row bound
    └── SnmpDecodeError            a value the poll depends on has the wrong type

Every error carries the values that caused it, so the per-target event can name them.
"""

from __future__ import annotations

from collections.abc import Sequence


class SnmpError(Exception):
    """Base of every error of the SNMP poller; ``reason`` is a short machine-readable word."""

    reason = "error"


class SnmpConfigError(SnmpError):
    """A data file (profiles.yaml, metrics.yaml) is invalid."""

    reason = "config"

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class SnmpTransportError(SnmpError):
    """The request could not be sent: the address does not resolve or the socket failed."""

    reason = "transport"

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"cannot send to {address}: {detail}")
        self.address = address
        self.detail = detail


class SnmpTimeout(SnmpError):
    """No answer: the device is off, the community is wrong, or SNMP is disabled or filtered."""

    reason = "timeout"

    def __init__(self, address: str, timeout: float, retries: int) -> None:
        super().__init__(
            f"no SNMP answer from {address} within {timeout:g} s × {retries + 1} tries "
            "(device off or unreachable, wrong community, or SNMP disabled)"
        )
        self.address = address
        self.timeout = timeout
        self.retries = retries


class SnmpAuthError(SnmpError):
    """The agent rejected our SNMPv3 credentials (unknown user, wrong key, unknown context)."""

    reason = "auth"

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"SNMPv3 authentication with {address} failed: {detail}")
        self.address = address
        self.detail = detail


class SnmpProtocolError(SnmpError):
    """The agent answered, but not in a way we can use."""

    reason = "protocol"

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"{address}: {detail}")
        self.address = address
        self.detail = detail


class SnmpErrorStatus(SnmpProtocolError):
    """The response PDU carries a non-zero error-status (tooBig, noSuchName, genErr, ...)."""

    reason = "error_status"

    def __init__(self, address: str, status: str, index: int, oid: str | None) -> None:
        where = f" at {oid}" if oid else ""
        super().__init__(address, f"agent answered error-status {status} (index {index}){where}")
        self.status = status
        self.index = index
        self.oid = oid


class SnmpOidNotIncreasing(SnmpProtocolError):
    """A walk received an OID that is not after the one requested: the agent would loop forever."""

    reason = "oid_not_increasing"

    def __init__(self, address: str, requested: str, received: str) -> None:
        super().__init__(
            address, f"walk went backwards: asked for the OID after {requested}, got {received}"
        )
        self.requested = requested
        self.received = received


class SnmpTableTooLarge(SnmpProtocolError):
    """A walk returned more rows than the configured bound (a runaway or hostile agent)."""

    reason = "table_too_large"

    def __init__(self, address: str, column: str, limit: int) -> None:
        super().__init__(address, f"column {column} has more than {limit} rows")
        self.column = column
        self.limit = limit


class SnmpDecodeError(SnmpError):
    """A value the poll depends on has the wrong type or an impossible value."""

    reason = "decode"

    def __init__(self, address: str, oid: str, expected: str, got: object) -> None:
        super().__init__(f"{address}: {oid} should be {expected}, got {got!r:.80}")
        self.address = address
        self.oid = oid
        self.expected = expected
        self.got = got


def first_problems(problems: Sequence[str], limit: int = 5) -> str:
    """Join the first ``limit`` problem descriptions for an event message."""
    shown = "; ".join(problems[:limit])
    more = len(problems) - limit
    return f"{shown}; and {more} more" if more > 0 else shown
