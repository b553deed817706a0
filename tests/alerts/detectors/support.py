"""Helpers of the signing-chain detector tests: a counter PC as its checks report, ticks."""

from __future__ import annotations

from typing import Any

from tests.alerts.signing_samples import Cert, merged, signing_report, tokens_report
from tests.alerts.support import Agent, World, pc


def counter_pc(
    world: World,
    device_id: str,
    certs: tuple[Cert, ...] = (),
    *,
    present: bool = True,
    **bridges: str,
) -> dict[str, Any]:
    """A counter PC with its probes, its signing bridges and its tokens, as its checks report."""
    return merged(
        pc(device_id),
        signing_report(device_id, **bridges),
        tokens_report(device_id, world.clock, certs, present=present),
    )


def run(world: World, agent: Agent, devices: list[dict[str, Any]], ticks: int = 1) -> None:
    for _ in range(ticks):
        agent.devices = devices
        world.tick()


def of_class(world: World, problem_class: str) -> list[Any]:
    return [t for t in world.tickets() if t.problem_class == problem_class]
