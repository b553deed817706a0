"""The sink's on-disk backlog (collector/sink_backlog.py): exact totals through appends, drains
and a restart.
"""

from __future__ import annotations

from pathlib import Path

from collector.sink_backlog import Backlog


def test_backlog_totals_stay_exact_through_appends_drains_and_a_restart(tmp_path: Path) -> None:
    backlog = Backlog(tmp_path / "b", 1 << 30)
    sizes = []
    for n in range(1, 301):
        assert backlog.append([f"m,t=x f={i}.0 {n}" for i in range(n % 7 + 1)])
        sizes.append(n % 7 + 1)

    def on_disk() -> tuple[int, int]:
        files = sorted((tmp_path / "b").glob("*.lpz"))
        return sum(f.stat().st_size for f in files), len(files)

    assert (backlog.size_bytes, len(backlog)) == on_disk()
    assert backlog.samples == sum(sizes)
    for segment in backlog.head(120):
        backlog.remove(segment)
    backlog.remove(backlog.head(1)[0])
    assert (backlog.size_bytes, len(backlog)) == on_disk()
    assert backlog.samples == sum(sizes[121:])
    again = Backlog(tmp_path / "b", 1 << 30)  # a restart re-reads the folder
    assert (again.size_bytes, again.samples, len(again)) == (
        backlog.size_bytes,
        backlog.samples,
        len(backlog),
    )
    assert [s.path.name for s in again.head(3)] == [s.path.name for s in backlog.head(3)]
