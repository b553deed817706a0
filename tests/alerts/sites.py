"""A commune's site as the grouping tests build it: PCs, and a router with a printer."""

from __future__ import annotations

from tests.alerts.support import Agent, World, pc, printer, router


def commune_with_site(world: World, commune: str, pcs: int = 3) -> list[Agent]:
    """``pcs`` PCs of ``commune``, one agent each, then one agent for its router and printer."""
    made = [world.enrol(commune, [pc(f"{commune}-PC-{i}")]) for i in range(pcs)]
    made.append(world.enrol(commune, [router(f"{commune}-RT"), printer(f"{commune}-PR")]))
    return made
