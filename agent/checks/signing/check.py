"""The ``signing`` check: are the signing bridges ready, on which port, how fast, which version.

A clerk who cannot sign cannot return a result (issue 23). Where ``local_service`` only sees a
port accept a connection, this check asks each bridge the question its web pages ask: the VNPT-CA
Plugin's ``checkPlugin`` (and its version), the VGCA Sign Service's WebSocket open. One ``pc``
device report: samples per bridge, an event when a bridge is down or answers wrong (with its own
words), the VNPT-CA Plugin's version as a fact.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from agent.checks.base import CheckConfig
from agent.checks.common import pc_device_id
from agent.checks.signing.config import SigningConfig
from agent.checks.signing.probe import PluginOutcome, probe_plugin
from agent.clock import Clock, SystemClock
from agent.wire import DeviceKind, DeviceReport, Event, Sample, Severity


def outcome_samples(outcome: PluginOutcome) -> list[Sample]:
    """``signing_plugin_up``/``_answered``/``_latency_seconds`` of one bridge."""
    decisive = outcome.decisive
    labels = {
        "plugin": outcome.plugin.name,
        "port": str(decisive.port) if decisive is not None else "",
    }
    samples = [
        Sample(
            name="signing_plugin_up",
            value=float(decisive is not None and decisive.ok),
            labels=labels,
        ),
        Sample(name="signing_plugin_answered", value=float(decisive is not None), labels=labels),
    ]
    if decisive is not None and decisive.latency_seconds is not None:
        samples.append(
            Sample(
                name="signing_plugin_latency_seconds",
                value=decisive.latency_seconds,
                labels=labels,
            )
        )
    return samples


def outcome_event(outcome: PluginOutcome) -> Event | None:
    """``signing_plugin_down`` (no port answered) or ``signing_plugin_error`` (answered wrong)."""
    plugin, decisive = outcome.plugin, outcome.decisive
    if decisive is not None and decisive.ok:
        return None
    ports = ",".join(str(p) for p in plugin.ports)
    if decisive is None:
        errors = ";".join(f"{p.port}={p.error}" for p in outcome.ports)
        return Event(
            type="signing_plugin_down",
            severity=Severity.WARNING,
            message=f"{plugin.name}: no port answered ({errors})",
            attrs={"plugin": plugin.name, "ports": ports, "errors": errors[:200]},
        )
    answer = decisive.answer or ""
    return Event(
        type="signing_plugin_error",
        severity=Severity.WARNING,
        message=f"{plugin.name} on port {decisive.port} is not ready; it answered: {answer}"[:2000],
        attrs={"plugin": plugin.name, "port": str(decisive.port), "answer": answer[:200]},
    )


class SigningCheck:
    """The ``signing`` check: each configured signing bridge asked whether it is ready."""

    name: ClassVar[str] = "signing"
    config_model: ClassVar[type[CheckConfig]] = SigningConfig

    def __init__(self, config: SigningConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or SigningConfig()
        self._clock: Clock = clock or SystemClock()
        self._device_id = pc_device_id(self.config.device_id)

    async def collect(self) -> list[DeviceReport]:
        """Ask every bridge at once (each tries its ports in turn); never raises."""
        outcomes = await asyncio.gather(
            *(probe_plugin(p, self.config.version_timeout_seconds) for p in self.config.plugins)
        )
        samples: list[Sample] = []
        events: list[Event] = []
        facts: dict[str, str] = {}
        for outcome in outcomes:
            samples += outcome_samples(outcome)
            event = outcome_event(outcome)
            if event is not None:
                events.append(event)
            decisive = outcome.decisive
            if decisive is not None and decisive.version:
                facts[f"{outcome.plugin.name}_plugin_version"] = decisive.version
        return [
            DeviceReport(
                device_id=self._device_id,
                kind=DeviceKind.PC,
                samples=samples,
                events=events,
                facts=facts,
            )
        ]
