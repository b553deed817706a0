"""Short memory: the processes using it, told as one event (never per-process samples).

Per-process samples would be unbounded cardinality; an event with the top names, repeated at most
every ``memory_event_repeat_seconds`` while memory stays short, says what a technician needs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import psutil

from agent.checks.host.config import HostConfig
from agent.wire import Event, Severity


@dataclass(frozen=True, slots=True)
class ProcessGroup:
    """Resident memory of all processes of one name (a browser is dozens of processes)."""

    name: str
    rss_bytes: int
    processes: int


def top_processes_by_memory(limit: int) -> list[ProcessGroup]:
    """The ``limit`` process names using the most resident memory, summed over their processes."""
    totals: dict[str, list[int]] = {}
    for proc in psutil.process_iter(["name", "memory_info"], ad_value=None):
        info = proc.info
        memory = info.get("memory_info")
        if memory is None:  # access denied (protected Windows processes) or gone
            continue
        entry = totals.setdefault(info.get("name") or "?", [0, 0])
        entry[0] += int(memory.rss)
        entry[1] += 1
    ranked = sorted(totals.items(), key=lambda item: item[1][0], reverse=True)[:limit]
    return [
        ProcessGroup(name=name, rss_bytes=rss, processes=count) for name, (rss, count) in ranked
    ]


class MemoryWatch:
    """Says ``memory_short`` when memory use crosses the threshold, then again only later."""

    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self._event_at: float | None = None

    async def check(self, memory: Any, now: float) -> Event | None:
        """The event for psutil's ``virtual_memory()`` reading at monotonic ``now``, if due."""
        cfg = self.config
        percent = float(memory.percent)
        if percent < cfg.memory_short_percent:
            self._event_at = None
            return None
        if self._event_at is not None and now - self._event_at < cfg.memory_event_repeat_seconds:
            return None
        self._event_at = now
        top = await asyncio.to_thread(top_processes_by_memory, cfg.top_processes)
        attrs = {
            "used_percent": f"{percent:.1f}",
            "available_bytes": str(memory.available),
        }
        for rank, group in enumerate(top, start=1):
            attrs[f"top{rank}_name"] = group.name[:100]
            attrs[f"top{rank}_rss_bytes"] = str(group.rss_bytes)
            attrs[f"top{rank}_processes"] = str(group.processes)
        names = ", ".join(f"{g.name} {g.rss_bytes / 2**20:.0f} MiB" for g in top)
        return Event(
            type="memory_short",
            severity=Severity.WARNING,
            message=f"memory {percent:.0f}% used; largest: {names}"[:2000],
            attrs=attrs,
        )
