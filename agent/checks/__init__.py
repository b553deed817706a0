"""Registry of checks by name; modules are imported only when a check is used.

Lazy import keeps SNMP libraries out of a counter PC's process (it never configures ``snmp``).
"""

from __future__ import annotations

import importlib
from typing import Any

from agent.checks.base import Check, CheckConfig

# name -> "module:Class"
CHECKS: dict[str, str] = {
    "host": "agent.checks.host:HostCheck",
    "http_probe": "agent.checks.http_probe:HttpProbeCheck",
    "local_service": "agent.checks.local_service:LocalServiceCheck",
    "ping": "agent.checks.ping:PingCheck",
    "signing": "agent.checks.signing:SigningCheck",
    "snmp": "agent.checks.snmp.check:SnmpCheck",
    "tokens": "agent.checks.tokens:TokensCheck",
}


class UnknownCheckError(KeyError):
    """A configuration names a check that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown check {self.name!r}; known checks: {', '.join(sorted(CHECKS))}"


def check_class(name: str) -> type[Check]:
    """The class implementing check ``name``."""
    try:
        target = CHECKS[name]
    except KeyError:
        raise UnknownCheckError(name) from None
    module_name, _, class_name = target.partition(":")
    cls: type[Check] = getattr(importlib.import_module(module_name), class_name)
    return cls


def validate_check_config(name: str, options: dict[str, Any]) -> CheckConfig:
    """Validate ``options`` with the config model of check ``name`` (raises pydantic errors)."""
    return check_class(name).config_model.model_validate(options)


__all__ = [
    "CHECKS",
    "Check",
    "CheckConfig",
    "UnknownCheckError",
    "check_class",
    "validate_check_config",
]
