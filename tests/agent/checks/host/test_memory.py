"""Short memory: the top-processes event and its repeat interval, grouping by name."""

from __future__ import annotations

from agent.checks.host import HostCheck, HostConfig, top_processes_by_memory
from tests.agent.checks.helpers import FakeClock
from tests.agent.checks.host.support import NO_SMART, collect


async def test_host_memory_short_names_top_processes_once_per_repeat_interval():
    clock = FakeClock()
    check = HostCheck(
        HostConfig(
            memory_short_percent=0.01,
            memory_event_repeat_seconds=900,
            top_processes=3,
            cpu_first_window_seconds=0,
            **NO_SMART,
        ),
        clock=clock,
    )
    [event] = (await collect(check)).events
    assert event.type == "memory_short"
    assert event.attrs["top1_name"]
    assert int(event.attrs["top1_rss_bytes"]) >= int(event.attrs.get("top2_rss_bytes", 0))
    assert int(event.attrs["top1_processes"]) >= 1
    assert "top4_name" not in event.attrs
    assert not [s for s in (await collect(check)).samples if s.name.startswith("top")]
    clock.advance(60)
    assert (await collect(check)).events == []  # still short, but said a minute ago
    clock.advance(900)
    assert [e.type for e in (await collect(check)).events] == ["memory_short"]


def test_top_processes_are_grouped_by_name_and_sorted():
    groups = top_processes_by_memory(5)
    assert groups
    assert [g.rss_bytes for g in groups] == sorted((g.rss_bytes for g in groups), reverse=True)
    assert all(g.processes >= 1 for g in groups)
