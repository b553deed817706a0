"""Every report as sheets, and sheets as the bytes of an XLSX workbook or a CSV file.

The budget plan (four sheets: lines, per commune, province summary, coverage rules), the upgrade
ranking, the wear schedule and the reconciliation are built here as ``tables.Sheet`` values with
Vietnamese and English headers; ``export_bytes`` and ``plan_export`` write them (``tables``
formats VND as ``#,##0`` and dates as ``dd/mm/yyyy``). The register itself is written by
``register_writer``, beside its reader, so that an export always imports back.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from inventory.errors import InventoryError
from inventory.models import KIND_LABELS, STATUS_LABELS, AssetKind
from inventory.money import num_en, num_vi
from inventory.plan import METHOD_TEXT, Plan
from inventory.priority import PriorityScore
from inventory.reconcile import Reconciliation
from inventory.tables import Cell, Column, ColumnType, Lang, Sheet, to_csv, to_xlsx
from inventory.wear import METHOD_LABELS, WearSchedule


class ExportFormat(StrEnum):
    """File formats of an export."""

    XLSX = "xlsx"
    CSV = "csv"


class ExportError(InventoryError):
    """An export cannot be written in the asked format; ``field`` names the parameter."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def export_bytes(sheets: list[Sheet], fmt: ExportFormat, *, lang: Lang = "vi") -> bytes:
    """Sheets as an XLSX workbook, or one sheet as CSV (several sheets need XLSX)."""
    if fmt is ExportFormat.XLSX:
        return to_xlsx(sheets, lang=lang)
    if len(sheets) != 1:
        raise ExportError(
            f"this report has {len(sheets)} sheets; CSV holds one, use xlsx "
            f"(báo cáo có {len(sheets)} trang, CSV chỉ chứa một: hãy dùng xlsx)",
            field="format",
        )
    return to_csv(sheets[0], lang=lang)


def plan_export(plan: Plan, fmt: ExportFormat, *, lang: Lang = "vi") -> bytes:
    """The plan as an XLSX workbook (lines, communes, province, coverage) or its lines as CSV."""
    sheets = plan_sheets(plan, lang=lang)
    if fmt is ExportFormat.XLSX:
        return to_xlsx(sheets, lang=lang)
    return to_csv(sheets[0], lang=lang)


def plan_to_xlsx(plan: Plan, *, lang: Lang = "vi") -> bytes:
    """The plan as an XLSX workbook with Vietnamese headers and number formats."""
    return to_xlsx(plan_sheets(plan, lang=lang), lang=lang)


# ---------------------------------------------------------------------------------------------
# Budget plan


def plan_sheets(plan: Plan, *, lang: Lang = "vi") -> list[Sheet]:
    """The plan as four sheets: lines, per commune, province summary, coverage rules."""
    rules = {item.rule_id: (item.rule_vi, item.rule_en) for item in plan.coverage}
    return [
        _plan_lines(plan, rules, lang),
        _plan_communes(plan, rules, lang),
        _plan_summary(plan, lang),
        _plan_coverage(plan, lang),
    ]


_PLAN_LINE_COLUMNS = (
    Column("no", "STT", "No.", ColumnType.INT),
    Column("commune_code", "Mã xã", "Commune code"),
    Column("commune_name", "Tên xã", "Commune", width=24),
    Column("asset_tag", "Mã tài sản", "Asset tag", width=18),
    Column("kind", "Loại", "Kind", width=20),
    Column("brand_model", "Hãng / Model", "Brand / model", width=24),
    Column("room", "Phòng/Quầy", "Room/Counter", width=16),
    Column("status", "Trạng thái", "Status"),
    Column("age_years", "Tuổi (năm)", "Age (years)", ColumnType.DECIMAL),
    Column("life_years", "Thời gian sử dụng (năm)", "Life (years)", ColumnType.INT),
    Column("past_life", "Quá hạn sử dụng", "Past its life", ColumnType.BOOL),
    Column("score", "Điểm ưu tiên", "Priority", ColumnType.DECIMAL),
    Column("replacement", "Thiết bị thay thế", "Replacement", width=36),
    Column("price", "Đơn giá thay thế (VNĐ)", "Replacement price (VND)", ColumnType.VND),
    Column("rule", "Ràng buộc", "Constraint", width=30),
    Column("reason", "Lý do", "Reason", width=100),
)


def _plan_lines(plan: Plan, rules: dict[str, tuple[str, str]], lang: Lang) -> Sheet:
    vi = lang == "vi"
    rows: list[tuple[Cell, ...]] = []
    for number, line in enumerate(plan.lines, start=1):
        kind_vi, kind_en = KIND_LABELS[line.kind]
        status_vi, status_en = STATUS_LABELS[line.status]
        rule_vi, rule_en = rules.get(line.coverage_rule or "", ("", ""))
        rows.append(
            (
                number,
                line.commune_code,
                line.commune_name,
                line.asset_tag,
                kind_vi if vi else kind_en,
                " ".join(part for part in (line.brand, line.model) if part),
                line.room,
                status_vi if vi else status_en,
                line.age_years,
                line.life_years,
                line.past_life,
                line.score,
                line.replacement_vi if vi else line.replacement_en,
                line.price,
                rule_vi if vi else rule_en,
                line.reason_vi if vi else line.reason_en,
            )
        )
    return Sheet("Kế hoạch thay thế", "Replacement plan", _PLAN_LINE_COLUMNS, tuple(rows))


_PLAN_COMMUNE_COLUMNS = (
    Column("commune_code", "Mã xã", "Commune code"),
    Column("commune_name", "Tên xã", "Commune", width=24),
    Column("replacements", "Số thiết bị thay", "Replacements", ColumnType.INT),
    Column("cost", "Thành tiền (VNĐ)", "Cost (VND)", ColumnType.VND, width=18),
    Column("score_total", "Tổng điểm ưu tiên", "Total priority", ColumnType.DECIMAL),
    Column("by_kind", "Theo loại", "By kind", width=50),
    Column("unmet", "Ràng buộc chưa đáp ứng", "Constraints not met", width=40),
)


def _plan_communes(plan: Plan, rules: dict[str, tuple[str, str]], lang: Lang) -> Sheet:
    at = 0 if lang == "vi" else 1
    rows: list[tuple[Cell, ...]] = []
    for summary in plan.communes:
        kinds = ", ".join(
            f"{KIND_LABELS[kind][at]}: {count}" for kind, count in sorted(summary.by_kind.items())
        )
        unmet = "; ".join(rules[rule_id][at] for rule_id in summary.unmet_rules)
        rows.append(
            (
                summary.commune_code,
                summary.commune_name,
                summary.replacements,
                summary.cost,
                summary.score_total,
                kinds,
                unmet,
            )
        )
    return Sheet("Theo xã", "By commune", _PLAN_COMMUNE_COLUMNS, tuple(rows))


_PLAN_SUMMARY_COLUMNS = (
    Column("item", "Chỉ tiêu", "Item", width=44),
    Column("amount", "Số tiền (VNĐ)", "Amount (VND)", ColumnType.VND, width=20),
    Column("value", "Giá trị", "Value", width=40),
)


def _plan_summary(plan: Plan, lang: Lang) -> Sheet:
    vi = lang == "vi"
    number = num_vi if vi else num_en
    unmet_count = sum(1 for item in plan.coverage if not item.met)
    proof_vi = "Tối ưu (đã chứng minh)" if plan.proven_optimal else "Chưa chứng minh tối ưu"
    proof_en = "Optimal (proven)" if plan.proven_optimal else "Not proven optimal"
    method = METHOD_TEXT.get(plan.method, (plan.method, plan.method))[0 if vi else 1]
    communes = str(sum(1 for c in plan.communes if c.replacements))
    rows: tuple[tuple[Cell, ...], ...] = (
        ("Ngày lập" if vi else "Date", None, plan.as_of.strftime("%d/%m/%Y")),
        ("Ngân sách" if vi else "Budget", plan.budget, None),
        ("Đã sử dụng" if vi else "Spent", plan.spent, None),
        ("Còn lại" if vi else "Left", plan.remaining, None),
        ("Số thiết bị thay thế" if vi else "Replacements", None, str(plan.replacements)),
        ("Số thiết bị xem xét" if vi else "Candidates", None, str(plan.candidates)),
        ("Số xã có thay thế" if vi else "Communes with replacements", None, communes),
        ("Tổng điểm ưu tiên" if vi else "Total priority", None, number(plan.score_total, 2)),
        (
            "Cận trên đã chứng minh (điểm)" if vi else "Proven bound (points)",
            None,
            number(plan.bound_points / 100, 2),
        ),
        ("Kết quả tối ưu" if vi else "Optimality", None, proof_vi if vi else proof_en),
        ("Phương pháp" if vi else "Method", None, method),
        ("Ràng buộc chưa đáp ứng" if vi else "Constraints not met", None, str(unmet_count)),
        ("Phiên bản bảng giá" if vi else "Price table version", None, plan.price_table_version),
        (
            "Phiên bản bảng thời gian sử dụng" if vi else "Lives table version",
            None,
            plan.lives_version,
        ),
    )
    return Sheet("Tổng hợp tỉnh", "Province summary", _PLAN_SUMMARY_COLUMNS, rows)


_PLAN_COVERAGE_COLUMNS = (
    Column("rule", "Ràng buộc", "Constraint", width=44),
    Column("commune_code", "Mã xã", "Commune code"),
    Column("commune_name", "Tên xã", "Commune", width=24),
    Column("met", "Đáp ứng", "Met", ColumnType.BOOL),
    Column("cheapest", "Chi phí tối thiểu (VNĐ)", "Least cost (VND)", ColumnType.VND),
    Column("note", "Ghi chú", "Note", width=70),
)


def _plan_coverage(plan: Plan, lang: Lang) -> Sheet:
    vi = lang == "vi"
    rows = tuple(
        (
            item.rule_vi if vi else item.rule_en,
            item.commune_code,
            item.commune_name,
            item.met,
            item.cheapest_price,
            item.note_vi if vi else item.note_en,
        )
        for item in plan.coverage
    )
    return Sheet("Ràng buộc", "Constraints", _PLAN_COVERAGE_COLUMNS, rows)


# ---------------------------------------------------------------------------------------------
# Upgrade ranking

_TERM_HEADERS: dict[str, tuple[str, str]] = {
    "age": ("Tuổi so với thời gian sử dụng", "Age vs life"),
    "remaining_value": ("Giá trị còn lại", "Remaining value"),
    "failures": ("Hỏng hóc 12 tháng", "Failures (12 months)"),
    "saturation": ("Quá tải đo được", "Measured saturation"),
    "workload": ("Khối lượng công việc", "Workload"),
    "criticality": ("Mức quan trọng", "Criticality"),
    "out_of_service": ("Đang hỏng", "Out of service"),
    "unsupported_os": ("Hệ điều hành hết hỗ trợ", "Operating system out of support"),
}
_PRIORITY_COLUMNS = (
    Column("rank", "Thứ hạng", "Rank", ColumnType.INT),
    Column("asset_tag", "Mã tài sản", "Asset tag", width=18),
    Column("commune_code", "Mã xã", "Commune code"),
    Column("kind", "Loại", "Kind", width=20),
    Column("score", "Điểm ưu tiên (0–100)", "Priority (0–100)", ColumnType.DECIMAL),
    Column("age_years", "Tuổi (năm)", "Age (years)", ColumnType.DECIMAL),
    Column("life_years", "Thời gian sử dụng (năm)", "Life (years)", ColumnType.INT),
    Column("past_life", "Quá hạn sử dụng", "Past its life", ColumnType.BOOL),
    *(
        Column(f"term_{term}", f"Điểm: {vi}", f"Points: {en}", ColumnType.DECIMAL)
        for term, (vi, en) in _TERM_HEADERS.items()
    ),
    Column("reasons", "Lý do chính", "Main reasons", width=80),
)


def priority_sheet(scores: Iterable[PriorityScore], *, lang: Lang = "vi") -> Sheet:
    """The ranking report: one line per asset, highest score first, with each term's points."""
    ordered = sorted(scores, key=lambda score: (-score.points, score.asset_tag))
    rows: list[tuple[Cell, ...]] = []
    for rank, score in enumerate(ordered, start=1):
        by_term = {term.term: term.contribution for term in score.terms}
        kind_vi, kind_en = KIND_LABELS[score.kind]
        rows.append(
            (
                rank,
                score.asset_tag,
                score.commune_code,
                kind_vi if lang == "vi" else kind_en,
                score.score,
                score.age_years,
                score.life_years,
                score.past_life,
                *(by_term.get(term) for term in _TERM_HEADERS),
                "; ".join(score.reasons(lang)),
            )
        )
    return Sheet("Ưu tiên thay thế", "Upgrade priority", _PRIORITY_COLUMNS, tuple(rows))


# ---------------------------------------------------------------------------------------------
# Wear

WEAR_COLUMNS: tuple[Column, ...] = (
    Column("asset_tag", "Mã tài sản", "Asset tag", width=18),
    Column("asset_class", "Nhóm tài sản", "Asset class", width=20),
    Column("year", "Năm tài chính", "Fiscal year", ColumnType.INT),
    Column("rule_set", "Chế độ áp dụng", "Rule set", width=16),
    Column("life_years", "Thời gian sử dụng (năm)", "Life (years)", ColumnType.INT),
    Column("rate_percent", "Tỷ lệ hao mòn (%/năm)", "Rate (%/yr)", ColumnType.DECIMAL),
    Column("method", "Cách tính", "Method", width=45),
    Column("cost", "Nguyên giá (VNĐ)", "Cost (VND)", ColumnType.VND, width=18),
    Column("wear", "Hao mòn trong năm (VNĐ)", "Wear in year (VND)", ColumnType.VND, width=18),
    Column("accumulated", "Hao mòn lũy kế (VNĐ)", "Accumulated (VND)", ColumnType.VND, width=18),
    Column("remaining", "Giá trị còn lại (VNĐ)", "Remaining (VND)", ColumnType.VND, width=18),
    Column("projected", "Dự tính", "Projected", ColumnType.BOOL),
)


def wear_sheet(schedules: Iterable[WearSchedule], *, lang: str = "vi") -> Sheet:
    """The wear report: one line per asset and fiscal year (assets without wear: one note line)."""
    rows: list[tuple[Cell, ...]] = []
    for schedule in schedules:
        if not schedule.rows:
            note = schedule.note_vi if lang == "vi" else schedule.note_en
            rows.append(
                (
                    schedule.asset_tag,
                    schedule.asset_class,
                    *(None, None, None, None),
                    note,
                    schedule.cost,
                    *(None, None, None, None),
                )
            )
            continue
        for row in schedule.rows:
            label_vi, label_en = METHOD_LABELS[row.method]
            rows.append(
                (
                    schedule.asset_tag,
                    schedule.asset_class,
                    row.year,
                    row.rule_set,
                    row.life_years,
                    row.rate_percent,
                    label_vi if lang == "vi" else label_en,
                    schedule.cost,
                    row.wear,
                    row.accumulated,
                    row.remaining,
                    row.projected,
                )
            )
    return Sheet("Hao mòn", "Wear", WEAR_COLUMNS, tuple(rows))


# ---------------------------------------------------------------------------------------------
# Reconciliation

_MATCHED_COLUMNS = (
    Column("asset_tag", "Mã tài sản", "Asset tag", width=18),
    Column("commune_code", "Mã xã", "Commune code"),
    Column("kind", "Loại", "Kind", width=20),
    Column("device_id", "Thiết bị phát hiện", "Device seen", width=24),
    Column("matched_by", "Khớp theo", "Matched by"),
    Column("last_seen", "Lần cuối thấy", "Last seen", ColumnType.DATE),
    Column("mismatches", "Sai khác", "Mismatches", width=60),
)
_MISSING_COLUMNS = (
    Column("asset_tag", "Mã tài sản", "Asset tag", width=18),
    Column("commune_code", "Mã xã", "Commune code"),
    Column("kind", "Loại", "Kind", width=20),
    Column("model", "Model", "Model", width=24),
    Column("serial", "Số serial", "Serial", width=20),
    Column("room", "Phòng/Quầy", "Room/counter", width=20),
    Column("status", "Trạng thái", "Status"),
)
_UNRECORDED_COLUMNS = (
    Column("commune_code", "Mã xã", "Commune code"),
    Column("device_id", "Thiết bị phát hiện", "Device seen", width=24),
    Column("kind", "Loại", "Kind", width=20),
    Column("model", "Model", "Model", width=24),
    Column("serial", "Số serial", "Serial", width=20),
    Column("last_seen", "Lần cuối thấy", "Last seen", ColumnType.DATE),
)


def _kind_label(kind: str, lang: Lang) -> str:
    try:
        vi, en = KIND_LABELS[AssetKind(kind)]
    except ValueError:
        return kind
    return vi if lang == "vi" else en


def reconciliation_sheets(result: Reconciliation, *, lang: Lang = "vi") -> list[Sheet]:
    """The report as three sheets: matched (with disagreements), missing, unrecorded."""
    vi = lang == "vi"
    matched: list[tuple[Cell, ...]] = [
        (
            m.asset.asset_tag,
            m.asset.commune_code,
            _kind_label(m.asset.kind.value, lang),
            m.device.device_id,
            ("số serial" if vi else "serial")
            if m.matched_by == "serial"
            else ("tên máy" if vi else "name"),
            m.device.measured_at.date(),
            "; ".join(mismatch.describe(lang) for mismatch in m.mismatches),
        )
        for m in result.matched
    ]
    missing: list[tuple[Cell, ...]] = [
        (
            a.asset_tag,
            a.commune_code,
            _kind_label(a.kind.value, lang),
            a.model,
            a.serial,
            a.room,
            STATUS_LABELS[a.status][0 if vi else 1],
        )
        for a in result.missing
    ]
    unrecorded: list[tuple[Cell, ...]] = [
        (
            d.commune_code,
            d.device_id,
            _kind_label(d.kind, lang),
            d.model,
            d.serial,
            d.measured_at.date(),
        )
        for d in result.unrecorded
    ]
    return [
        Sheet("Đã khớp", "Matched", _MATCHED_COLUMNS, tuple(matched)),
        Sheet("Không thấy trên mạng", "Missing", _MISSING_COLUMNS, tuple(missing)),
        Sheet("Chưa có trong sổ", "Unrecorded", _UNRECORDED_COLUMNS, tuple(unrecorded)),
    ]
