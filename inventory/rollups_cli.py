"""``commune-monitor inventory rollups …``: the daily rollups the ranking and the plan read."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.clock import SystemClock
from collector.cli_support import fail, settings_of, store
from inventory.errors import InventoryError
from inventory.rollup_rebuild import rebuild_rollups
from inventory.rollups import RETENTION_DAYS

app = typer.Typer(
    help="Số liệu tổng hợp theo ngày của từng thiết bị (daily rollups per device: CPU, memory, "
    "disk, SMART, failures) that the ranking and the plan read; the processor keeps them.",
    no_args_is_help=True,
)

_PHASES = {
    "journal": "Nhật ký báo cáo (journal entries)",
    "events": "Sự kiện nghiêm trọng (critical events)",
    "write": "Ghi số liệu (rows written)",
}


@app.command("rebuild")
def rebuild_command(
    ctx: typer.Context,
    days: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            max=RETENTION_DAYS,
            help="Rebuild saturation (CPU, memory, disk, SMART) over the last N days, today "
            "included. Default: the journal's retention (journal_retention_days, 7), all it "
            "still holds. Failures are always rebuilt over 12 months from the stored events.",
        ),
    ] = None,
) -> None:
    """Tính lại số liệu tổng hợp theo ngày (rebuild the daily rollups from the journal).

    Run it once after upgrading to a version with rollups, while or before serving: a
    migration cannot compute them from a journal already pruned. Until rollups exist the
    ranking and the plan scan the journal instead (slow, and only the journal's days). Safe
    while the collector runs and safe to repeat: a day the live processor rolled up from more
    reports than the journal still holds is kept as it is. It reads every journal entry of
    the span (minutes for a week of a province) and holds the store's write lock only for the
    final write.
    """
    span = days if days is not None else settings_of(ctx).journal_retention_days
    console = Console(highlight=False, markup=False)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with store(ctx) as engine, Progress(*columns, console=console) as bar:
            tasks = {phase: bar.add_task(label, total=None) for phase, label in _PHASES.items()}

            def progress(phase: str, done: int, total: int) -> None:
                bar.update(tasks[phase], completed=done, total=max(total, done))

            result = rebuild_rollups(engine, SystemClock().now(), days=span, progress=progress)
    except InventoryError as exc:
        fail(str(exc))
    console.print(
        f"Đã tính lại {result.first_day:%d/%m/%Y}–{result.last_day:%d/%m/%Y}: "
        f"{result.reports} báo cáo, {result.failure_events} sự kiện nghiêm trọng, "
        f"{result.written} dòng ghi, {result.kept} ngày giữ nguyên "
        f"(rebuilt from {result.reports} journal entries and {result.failure_events} critical "
        f"events: {result.written} rows written, {result.kept} more complete rollups kept)"
    )
