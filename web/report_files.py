"""The official report (``alerts.official_report``) as files: XLSX for finance's spreadsheets,
PDF for the letter to the provincial People's Committee, in Vietnamese or English.

The XLSX keeps real numbers (percent and hours with two decimals, counts as integers) and text
never runs as a formula (``inventory.tables``); a cover sheet carries the period and the
definitions. The PDF is ``web.report_pdf``; both print the tables of ``web.report_tables``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alerts.official_report import OfficialReport
from inventory.tables import Cell, Column, Lang, Sheet, to_xlsx
from web.i18n import translator
from web.report_tables import cover_lines, definitions, report_sections

ReportFormat = Literal["xlsx", "pdf"]
FORMATS: tuple[ReportFormat, ...] = ("xlsx", "pdf")
MEDIA_TYPES: dict[ReportFormat, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class ReportFormatError(ValueError):
    """A file name whose suffix is not a report format; names the field and what is allowed."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(
            f"field '{field}': {value[:80]!r} must end in .pdf or .xlsx (the format is taken "
            "from the suffix)"
        )
        self.field = field


def format_of(path: Path, field: str = "out") -> ReportFormat:
    """The format a file name asks for by its suffix (``.pdf``, ``.xlsx``)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "pdf":
        return "pdf"
    if suffix == "xlsx":
        return "xlsx"
    raise ReportFormatError(field, str(path))


def file_name(report: OfficialReport, fmt: ReportFormat) -> str:
    """``bao-cao-2026-03.pdf``: an ASCII name for the download."""
    return f"bao-cao-{report.period.label.lower()}.{fmt}"


def cover_sheet(report: OfficialReport, lang: Lang) -> Sheet:
    """The first sheet of the workbook: title, period, time, definitions."""
    t = translator(lang)
    rows: list[tuple[Cell, ...]] = [(t("rep_title"), "")]
    rows += [(label, value) for label, value in cover_lines(report, lang)]
    rows += [(t("rep_definitions"), text) for text in definitions(lang)]
    return Sheet(
        "Báo cáo",
        "Report",
        (Column("k", "", "", width=40), Column("v", "", "", width=100)),
        tuple(rows),
    )


def report_xlsx(report: OfficialReport, lang: Lang = "vi") -> bytes:
    """The report as a workbook: a cover sheet, then one sheet per table."""
    sheets = [cover_sheet(report, lang)] + [s.sheet for s in report_sections(report, lang)]
    return to_xlsx(sheets, lang=lang)


def report_bytes(report: OfficialReport, fmt: ReportFormat, lang: Lang = "vi") -> bytes:
    """The report file in ``fmt``."""
    if fmt == "xlsx":
        return report_xlsx(report, lang)
    from web.report_pdf import report_pdf  # fpdf2 loads only when a PDF is asked for

    return report_pdf(report, lang)
