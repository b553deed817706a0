"""The one small interface every check implements."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from agent.wire import DeviceReport


class CheckConfig(BaseModel):
    """Base of every check's frozen configuration model; unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@runtime_checkable
class Check(Protocol):
    """A check: built from its config, ``collect`` measures once and returns per-device results.

    ``collect`` never raises for a measurement failure: a failed target is reported as samples
    (``*_up`` = 0) and an event naming the error, so one dead target never hides the others.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[CheckConfig]]

    async def collect(self) -> list[DeviceReport]: ...
