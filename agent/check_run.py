"""Running one check once: build it from its spec, run it under a time limit, keep what happened.

Shared by the agent service (``agent.runner``) and the CLI's one-off ``commune-agent check``.
A check that raises or overruns its time limit gives a ``CheckRun`` with the error, never an
exception: a bug in one check must not stop the others.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from agent.agent_config import CheckSpec
from agent.checks import check_class
from agent.checks.base import Check
from agent.clock import Clock
from agent.wire import DeviceReport

log = logging.getLogger(__name__)

_FILE_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

CheckFactory = Callable[[str, CheckSpec], Check]


def build_check(name: str, spec: CheckSpec, *, clock: Clock, state_dir: Path | None) -> Check:
    """An instance of the check ``spec`` names, configured by its options.

    Checks that keep state across agent restarts (the host check's boot time, for reboot
    detection) take a ``state_path``; they get a file of their own in ``state_dir``.
    """
    cls = check_class(spec.check)
    config = cls.config_model.model_validate(spec.options)
    kwargs: dict[str, Any] = {"clock": clock}
    if state_dir is not None and "state_path" in inspect.signature(cls).parameters:
        kwargs["state_path"] = state_dir / f"check-{_FILE_SAFE.sub('_', name)}.json"
    # The Check protocol says nothing about constructors; every check takes (config, clock=...).
    factory = cast(Callable[..., Check], cls)
    return factory(config, **kwargs)


@dataclass(frozen=True)
class CheckRun:
    """One run of one configured check: its devices, or why there are none."""

    name: str
    check: str
    measured_at: datetime
    duration_seconds: float
    devices: list[DeviceReport] = field(default_factory=list)
    error: str | None = None
    error_class: str | None = None  # "timeout" or "error"

    @property
    def ok(self) -> bool:
        """The check finished in time without an internal error."""
        return self.error is None


async def run_check(
    name: str, spec: CheckSpec, check: Check, *, clock: Clock, time_limit: float
) -> CheckRun:
    """Run ``check`` once within ``time_limit`` seconds; never raises for the check's failure."""
    measured_at = clock.now()
    started = clock.monotonic()

    def finished(**kwargs: Any) -> CheckRun:
        duration = max(0.0, clock.monotonic() - started)
        return CheckRun(name, spec.check, measured_at, duration, **kwargs)

    try:
        devices = await asyncio.wait_for(check.collect(), time_limit)
    except TimeoutError:
        return finished(error=f"did not finish within {time_limit:g} s", error_class="timeout")
    except Exception as exc:  # a bug in one check must not stop the others (logged in full)
        log.exception("check raised", extra={"check": name})
        return finished(error=f"{exc.__class__.__name__}: {exc}"[:500], error_class="error")
    return finished(devices=devices)
