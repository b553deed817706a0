"""The official report as a PDF (fpdf2), with DejaVu Sans embedded so that every Vietnamese
diacritic prints on any machine: the tables of ``web.report_files`` on landscape A4 pages.

fpdf2's core fonts (Helvetica ...) are Latin-1 only and would drop "ổ" or "ơ"; the shipped TTF
(``web/fonts``, its licence beside it) is subset into the file, so a report stays small.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableCellFillMode
from fpdf.fonts import FontFace

from alerts.official_report import OfficialReport
from inventory.tables import Cell, Column, ColumnType, Lang, Sheet
from web.i18n import translator
from web.report_tables import cover_lines, definitions, report_sections

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
HEADINGS = FontFace(emphasis="BOLD", fill_color=(225, 232, 240))


class _ReportPdf(FPDF):
    """A page footer: the report's title and the page number."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.footer_text = footer

    def footer(self) -> None:
        """Title and page on every page's foot."""
        self.set_y(-10)
        self.set_font(FAMILY, size=7)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="R")


def cell_text(value: Cell, column: Column, lang: Lang) -> str:
    """A cell as printed: decimals with the language's separator, '-' for no figure."""
    if value is None:
        return "-"
    if column.type is ColumnType.DECIMAL and isinstance(value, int | float):
        text = f"{value:,.2f}"
    elif column.type is ColumnType.INT and isinstance(value, int):
        text = f"{value:,}"
    else:
        return str(value)
    if lang == "vi":  # 1.234,56 as Vietnamese writes it
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _widths(sheet: Sheet) -> tuple[float, ...]:
    return tuple(float(column.width or 10) for column in sheet.columns)


def _table(pdf: FPDF, sheet: Sheet, lang: Lang) -> None:
    numeric = [c.type in (ColumnType.INT, ColumnType.DECIMAL) for c in sheet.columns]
    with pdf.table(
        col_widths=_widths(sheet),
        headings_style=HEADINGS,
        line_height=4.2,
        cell_fill_color=(246, 248, 250),
        cell_fill_mode=TableCellFillMode.ROWS,
        text_align=tuple("RIGHT" if n else "LEFT" for n in numeric),
    ) as table:
        heading = table.row()
        for column in sheet.columns:
            heading.cell(column.header(lang))
        for values in sheet.rows:
            row = table.row()
            for column, value in zip(sheet.columns, values, strict=True):
                row.cell(cell_text(value, column, lang))


def report_pdf(report: OfficialReport, lang: Lang = "vi") -> bytes:
    """The report as PDF bytes: title, period, the tables, then how the figures are computed."""
    t = translator(lang)
    title = t("rep_title")
    pdf = _ReportPdf(f"{title} — {report.period.title(lang)}")
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{title} — {report.period.title(lang)}")
    pdf.set_author("commune-monitor")
    pdf.set_lang("vi-VN" if lang == "vi" else "en")
    # The document's date is the report's, so the same figures give the same file.
    pdf.set_creation_date(report.generated_at)
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 14)
    pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    for label, value in cover_lines(report, lang):
        pdf.multi_cell(0, 5, f"{label}: {value}" if value else label, new_x="LMARGIN", new_y="NEXT")
    for section in report_sections(report, lang):
        pdf.ln(4)
        pdf.set_font(FAMILY, "B", 11)
        pdf.multi_cell(0, 6, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=7.5)
        if section.sheet.rows:
            _table(pdf, section.sheet, lang)
        else:
            pdf.multi_cell(0, 5, t("rep_no_rows"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 10)
    pdf.multi_cell(0, 5, t("rep_definitions"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=8)
    for text in definitions(lang):
        pdf.multi_cell(0, 4.5, f"• {text}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
