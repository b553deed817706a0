"""``commune-monitor inventory …``: the asset register, ranking, budget plan and reconciliation.

Registered by ``province.cli`` as a sub-app, so the global options (``--database-url``,
``--config``, ``--data-dir``) choose the store. Output is Vietnamese first with English beside it;
files are written only where ``--out`` says.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agent.clock import SystemClock
from agent.vntime import local_date
from collector.cli_support import cli_actor, fail, settings_of, store
from inventory import money
from inventory.errors import InventoryError, RegisterRejected
from inventory.exports import priority_sheet, reconciliation_sheets
from inventory.models import KIND_LABELS
from inventory.money import vnd_en, vnd_vi
from inventory.os_support import ACTION_TEXT, OsPlan
from inventory.plan import METHOD_TEXT
from inventory.reconcile import reconcile_store, summary_counts
from inventory.register_reader import source_bytes
from inventory.reports import (
    ExportFormat,
    InventoryConfig,
    Report,
    budget_plan,
    export_bytes,
    plan_export,
    ranked,
    report_sheets,
    unsupported_os_plan,
)
from inventory.rollups_cli import app as rollups_app
from inventory.store import ImportMode, import_register
from inventory.tables import Lang

app = typer.Typer(
    help="Sổ tài sản, hao mòn, thứ tự ưu tiên và kế hoạch thay thế theo ngân sách "
    "(asset register, wear, upgrade priority and a budgeted replacement plan).\n\n"
    "Typical use: 'inventory import so-tai-san.xlsx', then 'inventory plan --budget "
    "2.000.000.000 --out ke-hoach.xlsx'. The store is the one chosen by the global options, "
    "e.g. 'commune-monitor --database-url postgresql+psycopg://… inventory plan …'.",
    no_args_is_help=True,
)
app.add_typer(rollups_app, name="rollups")

_MAX_ISSUES_SHOWN = 50


def _config(ctx: typer.Context) -> InventoryConfig:
    """The data tables, with saturation read over the journal the collector keeps."""
    return InventoryConfig(journal_days=settings_of(ctx).journal_retention_days)


def _console() -> Console:
    # No markup: register text (rooms, models) may hold brackets that rich would swallow.
    return Console(highlight=False, markup=False)


def parse_budget(text: str) -> int:
    """``'2.000.000.000'``, ``'2,000,000,000 đ'`` or ``'2000000000'`` → whole VND, in bounds."""
    try:
        return money.parse_budget(text)
    except money.MoneyError as exc:
        raise typer.BadParameter(
            f"{text!r}: {exc.reason_en} ({exc.reason_vi})", param_hint="--budget"
        ) from None


def parse_day(text: str | None) -> date | None:
    """``2025-12-31`` or ``31/12/2025`` → a date (None stays None: today in Vietnam)."""
    if text is None:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, pattern).date()
    raise typer.BadParameter(
        f"{text!r} is not a date; use 2025-12-31 or 31/12/2025 (ngày không hợp lệ)",
        param_hint="--as-of",
    )


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        fail(f"--out {path}: {exc.strerror or exc}")


def _format_of(path: Path) -> ExportFormat:
    suffix = path.suffix.lower().lstrip(".")
    try:
        return ExportFormat(suffix)
    except ValueError:
        fail(f"--out {path}: the file name must end in .xlsx or .csv")


LangOption = Annotated[
    str,
    typer.Option(
        "--lang", help="Language of headers and reasons: vi (default) or en.", case_sensitive=False
    ),
]


def _lang(value: str) -> Lang:
    if value == "vi":
        return "vi"
    if value == "en":
        return "en"
    fail(f"--lang {value!r}: use vi or en")


@app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="The register, .xlsx (every sheet with a 'Mã tài sản' header) or .csv (UTF-8). "
            "Vietnamese or English headers.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Swap the whole stored register for this file. Default: add to it. Risk: lines "
            "not in the file are deleted.",
        ),
    ] = False,
) -> None:
    """Nhập sổ tài sản từ tệp, tất cả hoặc không (import a register file, all or nothing).

    Any bad row (bad date, negative cost, unknown commune, duplicate tag or serial) rejects the
    whole file: every problem is listed with its sheet, row and column, and nothing is stored.
    """
    console = _console()
    mode = ImportMode.REPLACE if replace else ImportMode.APPEND
    try:
        with store(ctx) as engine, console.status("Đang nhập sổ tài sản (importing)…"):
            result = import_register(
                engine,
                source_bytes(file),
                filename=file.name,
                now=SystemClock().now(),
                mode=mode,
                actor=cli_actor(),
            )
    except RegisterRejected as exc:
        table = Table(title=f"Không nhập được {file.name}: {len(exc.issues)} lỗi (rejected)")
        for header in ("Trang (sheet)", "Dòng (row)", "Cột (column)", "Lý do (reason)", "Giá trị"):
            table.add_column(header, overflow="fold")
        for issue in exc.issues[:_MAX_ISSUES_SHOWN]:
            table.add_row(
                issue.sheet,
                str(issue.row),
                issue.column,
                f"{issue.reason_vi} ({issue.reason_en})",
                issue.value,
            )
        console.print(table)
        if len(exc.issues) > _MAX_ISSUES_SHOWN:
            console.print(f"… and {len(exc.issues) - _MAX_ISSUES_SHOWN} more")
        fail("nothing was imported (chưa nhập gì); fix the rows above and import again")
    except (InventoryError, OSError) as exc:
        fail(str(exc))
    console.print(
        f"Đã nhập {result.assets} tài sản từ {result.filename} "
        f"(imported {result.assets} assets, import #{result.import_id}, mode {result.mode.value})"
    )


@app.command("ranking")
def show_ranking(
    ctx: typer.Context,
    top: Annotated[int, typer.Option(min=1, help="How many lines to show. Default 20.")] = 20,
    commune: Annotated[
        str | None, typer.Option(help="Only this commune code (5 digits). Default: all.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Value the register at this date (2025-12-31). Default: today (VN)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Also write the whole ranking to this .xlsx or .csv file."),
    ] = None,
    lang: LangOption = "vi",
) -> None:
    """Thứ tự ưu tiên thay thế, kèm lý do (upgrade priority of assets still held, reasons)."""
    language = _lang(lang)
    day = parse_day(as_of)
    config = _config(ctx)
    try:
        with store(ctx) as engine:
            result = ranked(
                engine, config, now=SystemClock().now(), as_of=day, commune_code=commune
            )
    except InventoryError as exc:
        fail(str(exc))
    scores = result.scores
    table = Table(title="Thứ tự ưu tiên thay thế (upgrade priority)")
    for header in ("#", "Mã tài sản", "Xã", "Loại", "Điểm", "Tuổi/đời", "Lý do chính"):
        table.add_column(header, overflow="fold")
    for rank, score in enumerate(scores[:top], start=1):
        kind = KIND_LABELS[score.kind][0 if language == "vi" else 1]
        table.add_row(
            str(rank),
            score.asset_tag,
            score.commune_code,
            kind,
            f"{score.score:.1f}",
            f"{score.age_years:.1f}/{score.life_years}",
            "; ".join(score.reasons(language, limit=2)),
        )
    _console().print(table)
    if result.measurements is not None:
        _console().print(result.measurements.note(language))
    if out is not None:
        fmt = _format_of(out)
        _write(out, export_bytes([priority_sheet(scores, lang=language)], fmt, lang=language))
        typer.echo(f"written {out}")


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    budget: Annotated[
        str,
        typer.Option(
            help="Budget in whole VND: 2000000000, 2.000.000.000 or '2,000,000,000 đ'. Required."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the plan to this file: .xlsx (lines, per commune, province, coverage "
            "rules; Vietnamese headers, VND as #,##0) or .csv (the lines). Overwrites it."
        ),
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(min=0, max=100, help="Only assets scoring at least this. Default 30."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Value the register at this date (2025-12-31). Default: today (VN)."),
    ] = None,
    lang: LangOption = "vi",
) -> None:
    """Kế hoạch thay thế theo ngân sách (replacements maximising priority within --budget).

    The choice is exact (integer programming with a proof of optimality), not a sort and cut.

    Coverage comes first: every commune keeps at least one working printer and scanner when the
    budget allows; the rest goes to the highest total priority. Each line says why.
    """
    language = _lang(lang)
    amount = parse_budget(budget)
    day = parse_day(as_of)
    config = _config(ctx)
    try:
        with store(ctx) as engine:
            now = SystemClock().now()
            plan = budget_plan(engine, config, amount, now=now, as_of=day, min_score=min_score)
            os_plan = unsupported_os_plan(engine, config, now=now, as_of=day)
    except InventoryError as exc:
        fail(str(exc))
    vi = language == "vi"
    table = Table(title=f"Kế hoạch thay thế ngày {plan.as_of.strftime('%d/%m/%Y')} (plan)")
    for header in ("Xã", "Số thiết bị", "Chi phí", "Yêu cầu chưa đạt"):
        table.add_column(header, overflow="fold")
    for commune in plan.communes:
        table.add_row(
            f"{commune.commune_code} {commune.commune_name}",
            str(commune.replacements),
            vnd_vi(commune.cost) if vi else vnd_en(commune.cost),
            ", ".join(commune.unmet_rules),
        )
    console = _console()
    console.print(table)
    money = vnd_vi if vi else vnd_en
    method = METHOD_TEXT.get(plan.method, (plan.method, plan.method))[0 if vi else 1]
    console.print(
        f"Ngân sách (budget) {money(plan.budget)}; chi (spent) {money(plan.spent)}; "
        f"còn lại (left) {money(plan.remaining)}; {plan.replacements} thiết bị thay thế "
        f"(replacements) trong {len(plan.communes)} xã."
    )
    console.print(
        f"Tổng điểm ưu tiên (total priority) {plan.objective_points / 100:,.2f}; "
        f"tối ưu đã chứng minh (proven optimal): {'có' if plan.proven_optimal else 'không'}; "
        f"{method}"
    )
    unmet = [c for c in plan.coverage if not c.met]
    for result in unmet:
        console.print(result.note_vi if vi else result.note_en, style="yellow")
    if plan.measurements is not None:
        console.print(plan.measurements.note(language))
    console.print(os_summary(os_plan, language))
    if out is not None:
        fmt = _format_of(out)
        _write(out, plan_export(plan, fmt, lang=language))
        typer.echo(f"written {out}")


def os_summary(plan: OsPlan, lang: Lang) -> str:
    """One line for finance: PCs out of support, to replace and to upgrade, and the cost."""
    money = vnd_vi if lang == "vi" else vnd_en
    return (
        f"Hệ điều hành hết hỗ trợ (unsupported OS): {plan.unsupported}/{plan.pcs_known} máy; "
        f"thay mới (replace) {plan.replace} máy, {money(plan.replace_cost)}; "
        f"nâng cấp/cập nhật (upgrade) {plan.upgrade} máy, {money(plan.upgrade_cost)}; "
        f"tổng (total) {money(plan.total_cost)}; sắp hết hỗ trợ trong 12 tháng (ending within "
        f"a year) {plan.ending_soon} máy."
    )


@app.command("unsupported-os")
def unsupported_os_command(
    ctx: typer.Context,
    commune: Annotated[
        str | None, typer.Option(help="Only this commune code (5 digits). Default: all.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Judge support at this date (2026-12-31). Default: today (VN)."),
    ] = None,
    lang: LangOption = "vi",
) -> None:
    """Máy tính dùng hệ điều hành hết hỗ trợ (PCs whose OS is out of support, cost to fix).

    End-of-support dates come from inventory/os_support.yaml (Microsoft's lifecycle pages). Each
    PC is updated (a newer Windows 11 release), upgraded to Windows 11 (if its processor and
    memory allow) or replaced (older Windows, or past its useful life in the register).
    """
    language = _lang(lang)
    day = parse_day(as_of)
    config = _config(ctx)
    try:
        with store(ctx) as engine:
            plan = unsupported_os_plan(
                engine, config, now=SystemClock().now(), as_of=day, commune_code=commune
            )
    except InventoryError as exc:
        fail(str(exc))
    vi = language == "vi"
    money = vnd_vi if vi else vnd_en
    table = Table(title=f"Hệ điều hành hết hỗ trợ ngày {plan.as_of.strftime('%d/%m/%Y')}")
    headers = ("Xã", "Máy", "Mã tài sản", "Hệ điều hành", "Hết hỗ trợ", "Việc cần làm", "Chi phí")
    for header in headers:
        table.add_column(header, overflow="fold")
    for line in plan.lines:
        table.add_row(
            line.commune_code,
            line.device_id,
            line.asset_tag or "-",
            line.os,
            line.end_of_support.strftime("%d/%m/%Y"),
            ACTION_TEXT[line.action][0 if vi else 1],
            money(line.cost_vnd),
        )
    console = _console()
    console.print(table)
    console.print(os_summary(plan, language))


@app.command("reconcile")
def reconcile_command(
    ctx: typer.Context,
    commune: Annotated[
        str | None, typer.Option(help="Only this commune code (5 digits). Default: all.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the full report (3 sheets) to this .xlsx file. Overwrites it."),
    ] = None,
    lang: LangOption = "vi",
) -> None:
    """Đối chiếu sổ tài sản với thiết bị phát hiện (register vs what agents and SNMP saw).

    Matching is by serial, then by a hostname equal to the asset tag.

    Lists register lines never seen on the network (missing?), equipment seen but not registered
    (to add), and matched lines whose model, serial, commune, kind or status disagree.
    """
    language = _lang(lang)
    if out is not None and _format_of(out) is not ExportFormat.XLSX:
        fail(f"--out {out}: the reconciliation has three sheets; use a .xlsx file")
    with store(ctx) as engine:
        # Matching only: no measured signals to read.
        result = reconcile_store(engine, commune)
    console = _console()
    counts = Table(title="Đối chiếu sổ tài sản với thiết bị phát hiện (reconciliation)")
    counts.add_column("Nhóm (part)")
    counts.add_column("Số lượng", justify="right")
    for vi_label, en_label, count in summary_counts(result):
        counts.add_row(f"{vi_label} ({en_label})", str(count))
    console.print(counts)
    for match in result.mismatched:
        details = "; ".join(m.describe(language) for m in match.mismatches)
        console.print(
            f"sai khác (mismatch) {match.asset.asset_tag} ↔ {match.device.device_id}: {details}"
        )
    for asset in result.missing:
        console.print(f"không thấy (missing) {asset.asset_tag} {asset.commune_code} {asset.room}")
    for device in result.unrecorded:
        console.print(
            f"chưa có trong sổ (unrecorded) {device.commune_code} {device.device_id} "
            f"{device.kind} {device.model} {device.serial or ''}".rstrip()
        )
    if out is not None:
        sheets = reconciliation_sheets(result, lang=language)
        _write(out, export_bytes(sheets, ExportFormat.XLSX, lang=language))
        typer.echo(f"written {out}")


@app.command("export")
def export_command(
    ctx: typer.Context,
    report: Annotated[Report, typer.Argument(help="register, wear, ranking or reconciliation.")],
    out: Annotated[
        Path, typer.Option(help="File to write: .xlsx or .csv (one-sheet reports). Overwrites.")
    ],
    lang: LangOption = "vi",
) -> None:
    """Xuất báo cáo ra tệp XLSX/CSV (write a report, Vietnamese or English headers)."""
    language = _lang(lang)
    fmt = _format_of(out)
    config = _config(ctx)
    now = SystemClock().now()
    try:
        with store(ctx) as engine:
            data = export_bytes(
                report_sheets(engine, config, report, now=now, lang=language), fmt, lang=language
            )
    except InventoryError as exc:
        fail(str(exc))
    _write(out, data)
    typer.echo(f"written {out} ({report.value}, {local_date(now).isoformat()})")
