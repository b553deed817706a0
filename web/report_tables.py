"""The official report (``alerts.official_report``) as tables: typed columns with headers in
both languages (``inventory.tables.Sheet``), the lines that open it and the definitions that close
it. The XLSX and the PDF (``web.report_files``, ``web.report_pdf``) are written from these same
tables, so the two files never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from alerts.official_report import CommuneFigures, OfficialReport, OwnerFigures
from inventory.tables import Cell, Column, ColumnType, Lang, Sheet
from web.i18n import duration_text, local_time, problem_class_text, translator

_VI = translator("vi")
_EN = translator("en")


@dataclass(frozen=True)
class Section:
    """One table of the report with its title (a heading in the PDF, a sheet in the XLSX)."""

    title: str
    sheet: Sheet


def _column(key: str, kind: ColumnType = ColumnType.TEXT, width: int | None = None) -> Column:
    return Column(key, _VI(key), _EN(key), kind, width)


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _percent(share: float | None) -> float | None:
    # Floored to two decimals: 99.996 % reads 99.99 %, never a misleading 100 %.
    return None if share is None else int(share * 10_000 + 1e-9) / 100


def _commune_sheet(communes: tuple[CommuneFigures, ...], ranked: bool) -> tuple[Column, ...]:
    columns = (
        _column("code", width=8),
        _column("commune", width=30),
        _column("rep_open_hours", ColumnType.DECIMAL),
        _column("rep_down_hours", ColumnType.DECIMAL),
        _column("rep_availability", ColumnType.DECIMAL),
        _column("rep_outages", ColumnType.INT),
        _column("rep_incidents", ColumnType.INT),
        _column("rep_tickets", ColumnType.INT),
    )
    return ((_column("rep_rank", ColumnType.INT, 6), *columns)) if ranked else columns


def _commune_row(c: CommuneFigures) -> tuple[Cell, ...]:
    return (
        c.code,
        c.name,
        _hours(c.open_time),
        _hours(c.down_time),
        _percent(c.availability),
        c.outages,
        c.incidents,
        c.tickets,
    )


def _sla_terms(owner: OwnerFigures, lang: Lang) -> str:
    if owner.sla_respond is None or owner.sla_resolve is None:
        return "-"
    t = translator(lang)
    respond = duration_text(owner.sla_respond.total_seconds(), lang)
    resolve = duration_text(owner.sla_resolve.total_seconds(), lang)
    return f"{respond} / {resolve} ({t('rep_clock_' + owner.sla_clock)})"


def _owner_row(owner: OwnerFigures, lang: Lang) -> tuple[Cell, ...]:
    t = translator(lang)
    name = owner.name_vi if lang == "vi" else owner.name_en
    longest: Cell = _hours(owner.longest)
    ticket: Cell = None
    if owner.longest_ticket is not None:
        ongoing = f" ({t('rep_ongoing')})" if owner.longest_ongoing else ""
        ticket = f"#{owner.longest_ticket}{ongoing}"
    return (
        owner.owner,
        name,
        t(f"rep_owner_{owner.kind}") if owner.kind else "-",
        _sla_terms(owner, lang),
        owner.opened,
        owner.response.met,
        owner.response.breached,
        _percent(owner.response.compliance),
        owner.resolution.met,
        owner.resolution.breached,
        _percent(owner.resolution.compliance),
        owner.response.pending + owner.resolution.pending,
        owner.response_notices + owner.resolution_notices,
        longest,
        ticket,
    )


_OWNER_COLUMNS = (
    _column("rep_owner_id", width=17),
    _column("owner", width=34),
    _column("rep_owner_kind", width=12),
    _column("rep_sla_terms", width=26),
    _column("rep_tickets", ColumnType.INT),
    _column("rep_resp_met", ColumnType.INT),
    _column("rep_resp_breached", ColumnType.INT),
    _column("rep_resp_rate", ColumnType.DECIMAL),
    _column("rep_res_met", ColumnType.INT),
    _column("rep_res_breached", ColumnType.INT),
    _column("rep_res_rate", ColumnType.DECIMAL),
    _column("rep_pending", ColumnType.INT),
    _column("rep_notices", ColumnType.INT),
    _column("rep_longest", ColumnType.DECIMAL),
    _column("rep_longest_ticket", width=16),
)


def report_sections(report: OfficialReport, lang: Lang) -> list[Section]:
    """The report's tables, in the order the PDF prints them."""
    t = translator(lang)
    provinces = Sheet(
        "Tổng hợp",
        "Summary",
        (
            _column("code", width=6),
            _column("rep_province", width=24),
            _column("rep_monitored", width=14),
            _column("rep_open_hours", ColumnType.DECIMAL),
            _column("rep_down_hours", ColumnType.DECIMAL),
            _column("rep_availability", ColumnType.DECIMAL),
            _column("rep_incidents", ColumnType.INT),
            _column("rep_tickets", ColumnType.INT),
        ),
        tuple(
            (
                p.code,
                p.name,
                f"{p.communes_monitored}/{p.communes_total}",
                _hours(p.open_time),
                _hours(p.down_time),
                _percent(p.availability),
                p.incidents,
                p.tickets,
            )
            for p in report.provinces
        ),
    )
    top = Sheet(
        "Ngừng lâu nhất",
        "Down longest",
        _commune_sheet(report.top_downtime, ranked=True),
        tuple((rank, *_commune_row(c)) for rank, c in enumerate(report.top_downtime, start=1)),
    )
    classes = Sheet(
        "Sự cố theo loại",
        "Incidents by class",
        (
            _column("problem_class", width=40),
            _column("rep_incidents", ColumnType.INT),
            _column("rep_in_window", ColumnType.INT),
            _column("rep_communes_hit", ColumnType.INT),
            _column("rep_tickets", ColumnType.INT),
        ),
        tuple(
            (
                problem_class_text(c.problem_class, lang),
                c.incidents,
                c.in_window,
                c.communes,
                c.tickets,
            )
            for c in report.classes
        ),
    )
    owners = Sheet(
        "SLA theo đơn vị",
        "SLA per owner",
        _OWNER_COLUMNS,
        tuple(_owner_row(o, lang) for o in report.owners),
    )
    communes = Sheet(
        "Theo xã",
        "Communes",
        _commune_sheet(report.communes, ranked=False),
        tuple(_commune_row(c) for c in report.communes),
    )
    return [
        Section(t("rep_summary"), provinces),
        Section(t("rep_top_downtime"), top),
        Section(t("rep_by_class"), classes),
        Section(t("rep_sla"), owners),
        Section(t("rep_by_commune"), communes),
    ]


def cover_lines(report: OfficialReport, lang: Lang) -> list[tuple[str, str]]:
    """(label, value) lines that open the report: what, which period, when made."""
    t = translator(lang)
    lines = [
        (t("rep_period"), f"{report.period.title(lang)} ({report.period.label})"),
        (t("rep_generated"), local_time(report.generated_at)),
        (t("times_note"), ""),
    ]
    if not report.complete:
        lines.append((t("rep_partial", at=local_time(report.until)), ""))
    return lines


def definitions(lang: Lang) -> list[str]:
    """How the figures are computed, printed at the end of every file."""
    t = translator(lang)
    return [t("rep_def_availability"), t("rep_def_sla"), t("rep_def_longest")]
