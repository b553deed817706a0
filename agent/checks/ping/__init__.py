"""The ``ping`` check (``check.py``), its output parser (``parser.py``) and system lookups.

The names below are what other code and tests import from ``agent.checks.ping``; the registry
names the check ``agent.checks.ping:PingCheck``.
"""

from __future__ import annotations

from agent.checks.ping.check import DNS, GATEWAY, PingCheck, PingConfig, PingTarget
from agent.checks.ping.parser import (
    PingError,
    PingParseError,
    PingResult,
    classify_ping_failure,
    parse_ping_output,
)
from agent.checks.ping.system import default_dns_server, default_gateway, ping_command

__all__ = [
    "DNS",
    "GATEWAY",
    "PingCheck",
    "PingConfig",
    "PingError",
    "PingParseError",
    "PingResult",
    "PingTarget",
    "classify_ping_failure",
    "default_dns_server",
    "default_gateway",
    "parse_ping_output",
    "ping_command",
]
