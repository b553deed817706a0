"""The one small interface every check implements, and the clock it reads."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from agent.wire import DeviceReport


class CheckConfig(BaseModel):
    """Base of every check's frozen configuration model; unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Clock(Protocol):
    """Wall clock (UTC) and a monotonic clock; tests inject a fake one."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@runtime_checkable
class Check(Protocol):
    """A check: built from its config, ``collect`` measures once and returns per-device results.

    ``collect`` never raises for a measurement failure: a failed target is reported as samples
    (``*_up`` = 0) and an event naming the error, so one dead target never hides the others.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[CheckConfig]]

    async def collect(self) -> list[DeviceReport]: ...
