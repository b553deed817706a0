"""Budget plan: which assets to replace first, within a VND budget, with the reason for each line.

Inputs are the register, the priority scores and a price table. Candidates are the assets still
held (in use or broken) whose score reaches ``min_score``; each costs the replacement price of its
kind (or class). The selection is exact (see ``inventory.solver``): it maximises the total
priority points of the replacements within the budget, subject to the coverage rules.

Coverage rule, defined precisely (default rules: printers, counting MFPs, and scanners):
a commune is *deficient* for a rule when it holds at least one asset of the rule's kinds (in use
or broken) and none of them is *working*, i.e. in use and not past its useful life. For every
deficient commune the plan includes at least one replacement among that commune's assets of
those kinds (they are candidates whatever their score). When the budget cannot pay for every
deficient commune, the plan covers as many as it can, cheapest first, and lists the others as not
met; only then is the remaining budget spent on total priority. Coverage therefore comes first
("when affordable"), priority second.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from inventory.errors import PlanError
from inventory.fmt import num_en, num_vi, vnd_en, vnd_vi
from inventory.lives import LifeTables
from inventory.models import KIND_LABELS, STATUS_LABELS, Asset, AssetKind, AssetStatus
from inventory.prices import PriceTable
from inventory.priority import PriorityScore
from inventory.solver import Selection, greedy_cut, select
from inventory.tables import Cell, Column, ColumnType, Lang, Sheet, to_xlsx


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CoverageRule(_Frozen):
    """Every commune keeps at least one working asset of these kinds (see the module docstring)."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    kinds: frozenset[AssetKind] = Field(min_length=1)
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


DEFAULT_COVERAGE_RULES: tuple[CoverageRule, ...] = (
    CoverageRule(
        id="printer_per_commune",
        kinds=frozenset({AssetKind.PRINTER, AssetKind.MFP}),
        name_vi="Mỗi xã còn ít nhất một máy in hoạt động",
        name_en="At least one working printer per commune",
    ),
    CoverageRule(
        id="scanner_per_commune",
        kinds=frozenset({AssetKind.SCANNER}),
        name_vi="Mỗi xã còn ít nhất một máy quét tài liệu hoạt động",
        name_en="At least one working scanner per commune",
    ),
)


class PlanSettings(_Frozen):
    """Choices of a plan: the score threshold, the coverage rules, the solver's time limit."""

    min_score: float = Field(
        default=30.0,
        ge=0,
        le=100,
        description="Candidates need at least this score (coverage candidates are exempt)",
    )
    coverage_rules: tuple[CoverageRule, ...] = DEFAULT_COVERAGE_RULES
    time_limit_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _rules_disjoint(self) -> Self:
        seen: dict[AssetKind, str] = {}
        for rule in self.coverage_rules:
            for kind in rule.kinds:
                if kind in seen:
                    raise ValueError(
                        f"kind {kind.value!r} is in coverage rules {seen[kind]!r} and {rule.id!r}; "
                        "rules must not share kinds"
                    )
                seen[kind] = rule.id
        ids = [rule.id for rule in self.coverage_rules]
        if len(ids) != len(set(ids)):
            raise ValueError("coverage rule ids must be unique")
        return self


class PlanLine(_Frozen):
    """One replacement in the plan and why it is there."""

    asset_tag: str
    commune_code: str
    commune_name: str
    kind: AssetKind
    brand: str
    model: str
    room: str
    status: AssetStatus
    age_years: float
    life_years: int
    past_life: bool
    score: float
    price: int
    replacement_vi: str
    replacement_en: str
    coverage_rule: str | None
    reason_vi: str
    reason_en: str


class CoverageResult(_Frozen):
    """A deficient commune for one rule and whether the plan restores it."""

    rule_id: str
    rule_vi: str
    rule_en: str
    commune_code: str
    commune_name: str
    met: bool
    cheapest_price: int
    note_vi: str
    note_en: str


class CommuneSummary(_Frozen):
    """The plan's lines for one commune."""

    commune_code: str
    commune_name: str
    replacements: int
    cost: int
    score_total: float
    by_kind: dict[AssetKind, int]
    unmet_rules: tuple[str, ...]


class Plan(_Frozen):
    """A budget plan: the lines, the per-commune and province totals, and the solver's proof."""

    as_of: date
    budget: int
    spent: int
    remaining: int
    lines: tuple[PlanLine, ...]
    communes: tuple[CommuneSummary, ...]
    coverage: tuple[CoverageResult, ...]
    candidates: int
    score_total: float
    objective_points: int
    bound_points: int
    proven_optimal: bool
    method: str
    solve_seconds: float
    price_table_version: str
    lives_version: str

    @property
    def replacements(self) -> int:
        """Number of assets to replace."""
        return len(self.lines)


def _deficient(
    assets: Sequence[Asset], scores: Mapping[str, PriorityScore], rule: CoverageRule
) -> dict[str, list[Asset]]:
    """Commune → its assets of the rule's kinds, for communes with none working."""
    by_commune: dict[str, list[Asset]] = defaultdict(list)
    for asset in assets:
        if asset.in_service and asset.kind in rule.kinds:
            by_commune[asset.commune_code].append(asset)
    out: dict[str, list[Asset]] = {}
    for commune, held in by_commune.items():
        working = [
            asset
            for asset in held
            if asset.status is AssetStatus.IN_USE and not scores[asset.asset_tag].past_life
        ]
        if not working:
            out[commune] = held
    return out


def _coverage(
    held: Sequence[Asset], scores: Mapping[str, PriorityScore], settings: PlanSettings
) -> tuple[dict[str, dict[str, list[Asset]]], dict[str, str]]:
    """Rule id → deficient commune → its assets; and asset tag → the rule it may restore."""
    deficient = {rule.id: _deficient(held, scores, rule) for rule in settings.coverage_rules}
    coverage_of: dict[str, str] = {
        asset.asset_tag: rule_id
        for rule_id, communes in deficient.items()
        for group in communes.values()
        for asset in group
    }
    return deficient, coverage_of


def _candidates(
    held: Sequence[Asset],
    scores: Mapping[str, PriorityScore],
    settings: PlanSettings,
    coverage_of: Mapping[str, str],
) -> list[Asset]:
    candidates = [
        asset
        for asset in held
        if scores[asset.asset_tag].score >= settings.min_score or asset.asset_tag in coverage_of
    ]
    candidates.sort(key=lambda asset: asset.asset_tag)
    return candidates


def plan_candidates(
    assets: Iterable[Asset],
    scores: Mapping[str, PriorityScore],
    settings: PlanSettings | None = None,
) -> list[Asset]:
    """The assets a plan chooses from, by tag: held, and scoring at least ``min_score`` or
    restoring a commune's coverage (what replacing the whole ranked list would mean)."""
    settings = settings or PlanSettings()
    held = [asset for asset in assets if asset.in_service]
    return _candidates(held, scores, settings, _coverage(held, scores, settings)[1])


def build_plan(
    assets: Iterable[Asset],
    scores: Mapping[str, PriorityScore],
    prices: PriceTable,
    budget: int,
    *,
    tables: LifeTables,
    as_of: date,
    settings: PlanSettings | None = None,
    commune_names: Mapping[str, str] | None = None,
) -> Plan:
    """The replacements that maximise total priority within ``budget`` (VND), coverage first.

    ``scores`` must hold a score for every asset still held (``priority.score_assets``);
    ``commune_names`` (code → name) only labels the output.
    """
    settings = settings or PlanSettings()
    names = commune_names or {}
    if budget < 0:
        raise PlanError(f"budget {budget} VND is negative")
    held = [asset for asset in assets if asset.in_service]
    missing = [asset.asset_tag for asset in held if asset.asset_tag not in scores]
    if missing:
        raise PlanError(
            f"no priority score for {len(missing)} asset(s), e.g. {missing[:5]}; "
            "score every asset in use or broken first"
        )

    deficient, coverage_of = _coverage(held, scores, settings)
    candidates = _candidates(held, scores, settings, coverage_of)
    position = {asset.asset_tag: k for k, asset in enumerate(candidates)}
    values = [scores[asset.asset_tag].points for asset in candidates]
    costs = [prices.price_for(asset, tables.class_of(asset)).price_vnd for asset in candidates]
    group_keys: list[tuple[str, str]] = []
    groups: list[list[int]] = []
    for rule in settings.coverage_rules:
        for commune in sorted(deficient[rule.id]):
            group_keys.append((rule.id, commune))
            groups.append([position[asset.asset_tag] for asset in deficient[rule.id][commune]])

    selection = select(
        values, costs, budget, groups, time_limit_seconds=settings.time_limit_seconds
    )
    return _assemble(
        selection=selection,
        candidates=candidates,
        scores=scores,
        prices=prices,
        tables=tables,
        costs=costs,
        budget=budget,
        as_of=as_of,
        settings=settings,
        names=names,
        group_keys=group_keys,
        groups=groups,
        coverage_of=coverage_of,
    )


def _line_reason(score: PriorityScore, rule: CoverageRule | None, price: int) -> tuple[str, str]:
    vi = [f"Điểm ưu tiên {num_vi(score.score, 2)}/100", *score.reasons("vi")]
    en = [f"Priority {num_en(score.score, 2)}/100", *score.reasons("en")]
    if rule is not None:
        vi.append(
            f"{rule.name_vi}: mọi thiết bị loại này của xã đều hỏng hoặc quá thời gian sử dụng"
        )
        en.append(f"{rule.name_en}: every such device of the commune is broken or past its life")
    vi.append(f"đơn giá thay thế {vnd_vi(price)}")
    en.append(f"replacement price {vnd_en(price)}")
    return "; ".join(vi), "; ".join(en)


def _assemble(
    *,
    selection: Selection,
    candidates: Sequence[Asset],
    scores: Mapping[str, PriorityScore],
    prices: PriceTable,
    tables: LifeTables,
    costs: Sequence[int],
    budget: int,
    as_of: date,
    settings: PlanSettings,
    names: Mapping[str, str],
    group_keys: Sequence[tuple[str, str]],
    groups: Sequence[Sequence[int]],
    coverage_of: Mapping[str, str],
) -> Plan:
    rules = {rule.id: rule for rule in settings.coverage_rules}
    lines: list[PlanLine] = []
    for index in sorted(
        selection.chosen,
        key=lambda i: (candidates[i].commune_code, -scores[candidates[i].asset_tag].points, i),
    ):
        asset = candidates[index]
        score = scores[asset.asset_tag]
        rule_id = coverage_of.get(asset.asset_tag)
        entry = prices.price_for(asset, tables.class_of(asset))
        reason_vi, reason_en = _line_reason(
            score, rules[rule_id] if rule_id else None, costs[index]
        )
        lines.append(
            PlanLine(
                asset_tag=asset.asset_tag,
                commune_code=asset.commune_code,
                commune_name=names.get(asset.commune_code, ""),
                kind=asset.kind,
                brand=asset.brand,
                model=asset.model,
                room=asset.room,
                status=asset.status,
                age_years=score.age_years,
                life_years=score.life_years,
                past_life=score.past_life,
                score=score.score,
                price=costs[index],
                replacement_vi=entry.item_vi,
                replacement_en=entry.item_en,
                coverage_rule=rule_id,
                reason_vi=reason_vi,
                reason_en=reason_en,
            )
        )

    coverage: list[CoverageResult] = []
    unmet: dict[str, list[str]] = defaultdict(list)
    for j, (rule_id, commune) in enumerate(group_keys):
        rule = rules[rule_id]
        met = j in selection.covered
        cheapest = min(costs[i] for i in groups[j])
        if met:
            note_vi, note_en = "Đã bố trí thay thế", "Replacement planned"
        else:
            unmet[commune].append(rule_id)
            note_vi = (
                f"Chưa đủ ngân sách: cần ít nhất {vnd_vi(cheapest)} để khôi phục "
                "(đã ưu tiên các xã có chi phí khôi phục thấp hơn)"
            )
            note_en = (
                f"Budget too small: at least {vnd_en(cheapest)} is needed "
                "(communes that cost less to restore came first)"
            )
        coverage.append(
            CoverageResult(
                rule_id=rule_id,
                rule_vi=rule.name_vi,
                rule_en=rule.name_en,
                commune_code=commune,
                commune_name=names.get(commune, ""),
                met=met,
                cheapest_price=cheapest,
                note_vi=note_vi,
                note_en=note_en,
            )
        )

    by_commune: dict[str, list[PlanLine]] = defaultdict(list)
    for line in lines:
        by_commune[line.commune_code].append(line)
    communes = tuple(
        CommuneSummary(
            commune_code=code,
            commune_name=names.get(code, ""),
            replacements=len(by_commune.get(code, [])),
            cost=sum(line.price for line in by_commune.get(code, [])),
            score_total=round(sum(line.score for line in by_commune.get(code, [])), 2),
            by_kind=dict(Counter(line.kind for line in by_commune.get(code, []))),
            unmet_rules=tuple(unmet.get(code, [])),
        )
        for code in sorted(set(by_commune) | set(unmet))
    )
    return Plan(
        as_of=as_of,
        budget=budget,
        spent=selection.cost,
        remaining=budget - selection.cost,
        lines=tuple(lines),
        communes=communes,
        coverage=tuple(coverage),
        candidates=len(candidates),
        score_total=round(selection.value / 100, 2),
        objective_points=selection.value,
        bound_points=selection.bound,
        proven_optimal=selection.optimal,
        method=selection.method,
        solve_seconds=round(selection.seconds, 3),
        price_table_version=prices.version,
        lives_version=tables.version,
    )


def greedy_reference(
    assets: Iterable[Asset],
    scores: Mapping[str, PriorityScore],
    prices: PriceTable,
    budget: int,
    *,
    tables: LifeTables,
    settings: PlanSettings | None = None,
) -> Selection:
    """The naive "sort by priority ÷ price and cut" on the same candidates (no coverage rules)."""
    settings = settings or PlanSettings()
    candidates = sorted(
        (
            asset
            for asset in assets
            if asset.in_service and scores[asset.asset_tag].score >= settings.min_score
        ),
        key=lambda asset: asset.asset_tag,
    )
    values = [scores[asset.asset_tag].points for asset in candidates]
    costs = [prices.price_for(asset, tables.class_of(asset)).price_vnd for asset in candidates]
    return greedy_cut(values, costs, budget)


# ---------------------------------------------------------------------------------------------
# Export


METHOD_TEXT: dict[str, tuple[str, str]] = {
    "all": (
        "Ngân sách đủ cho mọi thiết bị được xem xét",
        "The budget covers every candidate",
    ),
    "bound-fixing": (
        "Chính xác: cố định theo cận Lagrange, không còn lựa chọn nào khác",
        "Exact: Lagrangian bound fixing settled every item",
    ),
    "bound-fixing+dp": (
        "Chính xác: cố định theo cận Lagrange và quy hoạch động",
        "Exact: Lagrangian bound fixing and dynamic programming",
    ),
    "bound-fixing+milp-highs": (
        "Chính xác: cố định theo cận Lagrange và quy hoạch nguyên (HiGHS)",
        "Exact: Lagrangian bound fixing and integer programming (HiGHS)",
    ),
    "milp-highs": (
        "Chính xác: quy hoạch nguyên (HiGHS)",
        "Exact: integer programming (HiGHS)",
    ),
}


def plan_sheets(plan: Plan, *, lang: Lang = "vi") -> list[Sheet]:
    """The plan as four sheets: lines, per commune, province summary, coverage rules."""
    vi = lang == "vi"
    line_columns = (
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
    rules = {item.rule_id: (item.rule_vi, item.rule_en) for item in plan.coverage}
    line_rows: list[tuple[Cell, ...]] = []
    for number, line in enumerate(plan.lines, start=1):
        kind_vi, kind_en = KIND_LABELS[line.kind]
        status_vi, status_en = STATUS_LABELS[line.status]
        rule_vi, rule_en = rules.get(line.coverage_rule or "", ("", ""))
        line_rows.append(
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

    commune_columns = (
        Column("commune_code", "Mã xã", "Commune code"),
        Column("commune_name", "Tên xã", "Commune", width=24),
        Column("replacements", "Số thiết bị thay", "Replacements", ColumnType.INT),
        Column("cost", "Thành tiền (VNĐ)", "Cost (VND)", ColumnType.VND, width=18),
        Column("score_total", "Tổng điểm ưu tiên", "Total priority", ColumnType.DECIMAL),
        Column("by_kind", "Theo loại", "By kind", width=50),
        Column("unmet", "Ràng buộc chưa đáp ứng", "Constraints not met", width=40),
    )
    commune_rows: list[tuple[Cell, ...]] = []
    for summary in plan.communes:
        kinds = ", ".join(
            f"{KIND_LABELS[kind][0 if vi else 1]}: {count}"
            for kind, count in sorted(summary.by_kind.items())
        )
        unmet = "; ".join(rules[rule_id][0 if vi else 1] for rule_id in summary.unmet_rules)
        commune_rows.append(
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

    summary_columns = (
        Column("item", "Chỉ tiêu", "Item", width=44),
        Column("amount", "Số tiền (VNĐ)", "Amount (VND)", ColumnType.VND, width=20),
        Column("value", "Giá trị", "Value", width=40),
    )
    unmet_count = sum(1 for item in plan.coverage if not item.met)
    proof_vi = "Tối ưu (đã chứng minh)" if plan.proven_optimal else "Chưa chứng minh tối ưu"
    proof_en = "Optimal (proven)" if plan.proven_optimal else "Not proven optimal"
    summary_rows: tuple[tuple[Cell, ...], ...] = (
        ("Ngày lập" if vi else "Date", None, plan.as_of.strftime("%d/%m/%Y")),
        ("Ngân sách" if vi else "Budget", plan.budget, None),
        ("Đã sử dụng" if vi else "Spent", plan.spent, None),
        ("Còn lại" if vi else "Left", plan.remaining, None),
        ("Số thiết bị thay thế" if vi else "Replacements", None, str(plan.replacements)),
        ("Số thiết bị xem xét" if vi else "Candidates", None, str(plan.candidates)),
        (
            "Số xã có thay thế" if vi else "Communes with replacements",
            None,
            str(sum(1 for c in plan.communes if c.replacements)),
        ),
        (
            "Tổng điểm ưu tiên" if vi else "Total priority",
            None,
            num_vi(plan.score_total, 2) if vi else num_en(plan.score_total, 2),
        ),
        (
            "Cận trên đã chứng minh (điểm)" if vi else "Proven bound (points)",
            None,
            num_vi(plan.bound_points / 100, 2) if vi else num_en(plan.bound_points / 100, 2),
        ),
        ("Kết quả tối ưu" if vi else "Optimality", None, proof_vi if vi else proof_en),
        (
            "Phương pháp" if vi else "Method",
            None,
            METHOD_TEXT.get(plan.method, (plan.method, plan.method))[0 if vi else 1],
        ),
        ("Ràng buộc chưa đáp ứng" if vi else "Constraints not met", None, str(unmet_count)),
        ("Phiên bản bảng giá" if vi else "Price table version", None, plan.price_table_version),
        (
            "Phiên bản bảng thời gian sử dụng" if vi else "Lives table version",
            None,
            plan.lives_version,
        ),
    )

    coverage_columns = (
        Column("rule", "Ràng buộc", "Constraint", width=44),
        Column("commune_code", "Mã xã", "Commune code"),
        Column("commune_name", "Tên xã", "Commune", width=24),
        Column("met", "Đáp ứng", "Met", ColumnType.BOOL),
        Column("cheapest", "Chi phí tối thiểu (VNĐ)", "Least cost (VND)", ColumnType.VND),
        Column("note", "Ghi chú", "Note", width=70),
    )
    coverage_rows = tuple(
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
    return [
        Sheet("Kế hoạch thay thế", "Replacement plan", line_columns, tuple(line_rows)),
        Sheet("Theo xã", "By commune", commune_columns, tuple(commune_rows)),
        Sheet("Tổng hợp tỉnh", "Province summary", summary_columns, summary_rows),
        Sheet("Ràng buộc", "Constraints", coverage_columns, coverage_rows),
    ]


def plan_to_xlsx(plan: Plan, *, lang: Lang = "vi") -> bytes:
    """The plan as an XLSX workbook with Vietnamese headers and number formats."""
    return to_xlsx(plan_sheets(plan, lang=lang), lang=lang)
