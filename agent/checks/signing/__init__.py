"""The ``signing`` check (``check.py``): the PC's signing bridges asked whether they are ready.

``config`` holds the bridges as data, ``vnpt`` the VNPT-CA Plugin's message framing, ``probe``
the per-port exchange over ``agent.checks.websocket``. The registry names the check
``agent.checks.signing:SigningCheck``.
"""

from __future__ import annotations

from agent.checks.signing.check import SigningCheck
from agent.checks.signing.config import DEFAULT_PLUGINS, SigningConfig, SigningPlugin
from agent.checks.signing.probe import PluginOutcome, PortAnswer, probe_plugin, probe_port

__all__ = [
    "DEFAULT_PLUGINS",
    "PluginOutcome",
    "PortAnswer",
    "SigningCheck",
    "SigningConfig",
    "SigningPlugin",
    "probe_plugin",
    "probe_port",
]
