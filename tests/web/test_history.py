"""A device's 24 h / 7 d history read from the journal (web/history.py), on both stores; the page
that draws it is tests/web/routes/test_commune.py."""

from __future__ import annotations

from tests.web.support import Province, feed_a_day
from web.history import device_history, measured_by


def test_history_is_sampled_evenly_from_the_journal(province: Province) -> None:
    world = province.world
    # Just enrolled: its four reports are all read (no sampling), in the last half hour's bar.
    fresh = device_history(
        world.engine, province.other, f"{province.other}-PC-0", world.clock.now(), "24h"
    )
    assert fresh is not None
    assert (fresh.stride, fresh.reports) == (1, 4)
    assert fresh.series["disk"] == [None] * 47 + [97.0]
    device_id = feed_a_day(province)
    day = device_history(world.engine, province.other, device_id, world.clock.now(), "24h")
    assert day is not None
    assert day.stride == 5  # 1,440 reports for 48 bars of at most 6: every 5th read
    assert day.reports == 1440 // 5
    disk = day.series["disk"]
    assert len(disk) == 48
    assert disk[:24] == [50.0] * 24
    assert disk[24:] == [90.0] * 24
    assert day.series["cpu"] == [10.0] * 48
    assert day.series["probe_ms"] == [400.0] * 48  # both systems' total probe time, 0.4 s
    assert day.series["rtt_ms"] == [None] * 48  # a PC does not ping the link
    week = device_history(world.engine, province.other, device_id, world.clock.now(), "7d")
    assert week is not None
    assert week.stride == 2  # 1,444 reports for 84 bars of at most 6
    assert week.reports == 720 + 2  # and the enrolment day's seq 2 and 4
    assert week.series["disk"][:71] == [None] * 71
    assert week.series["disk"][71] == 97.0  # the first reports, a day and 4 minutes ago
    assert week.series["disk"][72:78] == [50.0] * 6
    assert week.series["disk"][78:] == [90.0] * 6
    # A device the commune does not have: nothing (the page falls back to its first PC).
    assert device_history(world.engine, province.cut, device_id, world.clock.now(), "24h") is None


def test_a_pcs_history_includes_its_probes_service_devices() -> None:
    assert measured_by("PC-0", "PC-0")
    assert measured_by("probe:dvc@PC-0", "PC-0")
    assert not measured_by("probe:dvc@PC-01", "PC-0")
    assert not measured_by("ping:gw@PC-0", "PC-0")  # only probes count as the PC's software time
    assert not measured_by("PC-0", "PC-01")
