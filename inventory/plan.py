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
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from inventory.errors import PlanError
from inventory.lives import LifeTables
from inventory.measurements import Measurements
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.money import num_en, num_vi, vnd_en, vnd_vi
from inventory.prices import PriceTable
from inventory.priority import PriorityScore
from inventory.solver import Selection, greedy_cut, select


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
    # Where saturation and failures came from (the daily rollups, or the journal while there
    # are none): set by inventory.reports for a plan read from the store.
    measurements: Measurements | None = None

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
    group_keys, groups = _groups(candidates, deficient, settings)
    problem = _Problem(
        candidates=candidates,
        scores=scores,
        costs=[prices.price_for(a, tables.class_of(a)).price_vnd for a in candidates],
        group_keys=group_keys,
        groups=groups,
        coverage_of=coverage_of,
        rules={rule.id: rule for rule in settings.coverage_rules},
        names=commune_names or {},
    )
    values = [scores[asset.asset_tag].points for asset in candidates]
    selection = select(
        values, problem.costs, budget, groups, time_limit_seconds=settings.time_limit_seconds
    )
    lines = _plan_lines(problem, selection, prices, tables)
    coverage, unmet = _coverage_results(problem, selection)
    return Plan(
        as_of=as_of,
        budget=budget,
        spent=selection.cost,
        remaining=budget - selection.cost,
        lines=lines,
        communes=_commune_summaries(lines, unmet, problem.names),
        coverage=coverage,
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


def _groups(
    candidates: Sequence[Asset],
    deficient: Mapping[str, Mapping[str, list[Asset]]],
    settings: PlanSettings,
) -> tuple[list[tuple[str, str]], list[list[int]]]:
    """(rule id, commune) of each coverage group, and its candidates by position."""
    position = {asset.asset_tag: k for k, asset in enumerate(candidates)}
    group_keys: list[tuple[str, str]] = []
    groups: list[list[int]] = []
    for rule in settings.coverage_rules:
        for commune in sorted(deficient[rule.id]):
            group_keys.append((rule.id, commune))
            groups.append([position[asset.asset_tag] for asset in deficient[rule.id][commune]])
    return group_keys, groups


@dataclass(frozen=True)
class _Problem:
    """The plan as the solver sees it: candidates with their costs, and the coverage groups."""

    candidates: Sequence[Asset]
    scores: Mapping[str, PriorityScore]
    costs: Sequence[int]
    # (rule id, commune) of each group, and the candidates (by position) that restore it.
    group_keys: Sequence[tuple[str, str]]
    groups: Sequence[Sequence[int]]
    coverage_of: Mapping[str, str]
    rules: Mapping[str, CoverageRule]
    names: Mapping[str, str]


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


def _plan_lines(
    problem: _Problem, selection: Selection, prices: PriceTable, tables: LifeTables
) -> tuple[PlanLine, ...]:
    """The chosen replacements by commune, highest priority first, each with its reason."""
    candidates, scores = problem.candidates, problem.scores
    lines: list[PlanLine] = []
    for index in sorted(
        selection.chosen,
        key=lambda i: (candidates[i].commune_code, -scores[candidates[i].asset_tag].points, i),
    ):
        asset = candidates[index]
        score = scores[asset.asset_tag]
        rule_id = problem.coverage_of.get(asset.asset_tag)
        entry = prices.price_for(asset, tables.class_of(asset))
        price = problem.costs[index]
        reason_vi, reason_en = _line_reason(
            score, problem.rules[rule_id] if rule_id else None, price
        )
        lines.append(
            PlanLine(
                asset_tag=asset.asset_tag,
                commune_code=asset.commune_code,
                commune_name=problem.names.get(asset.commune_code, ""),
                kind=asset.kind,
                brand=asset.brand,
                model=asset.model,
                room=asset.room,
                status=asset.status,
                age_years=score.age_years,
                life_years=score.life_years,
                past_life=score.past_life,
                score=score.score,
                price=price,
                replacement_vi=entry.item_vi,
                replacement_en=entry.item_en,
                coverage_rule=rule_id,
                reason_vi=reason_vi,
                reason_en=reason_en,
            )
        )
    return tuple(lines)


def _coverage_results(
    problem: _Problem, selection: Selection
) -> tuple[tuple[CoverageResult, ...], dict[str, list[str]]]:
    """Each deficient commune and rule, met or not; and commune → the rule ids not met."""
    coverage: list[CoverageResult] = []
    unmet: dict[str, list[str]] = defaultdict(list)
    for j, (rule_id, commune) in enumerate(problem.group_keys):
        rule = problem.rules[rule_id]
        met = j in selection.covered
        cheapest = min(problem.costs[i] for i in problem.groups[j])
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
                commune_name=problem.names.get(commune, ""),
                met=met,
                cheapest_price=cheapest,
                note_vi=note_vi,
                note_en=note_en,
            )
        )
    return tuple(coverage), unmet


def _commune_summaries(
    lines: Sequence[PlanLine], unmet: Mapping[str, list[str]], names: Mapping[str, str]
) -> tuple[CommuneSummary, ...]:
    """Per commune with a replacement or an unmet rule: count, cost, priority, kinds."""
    by_commune: dict[str, list[PlanLine]] = defaultdict(list)
    for line in lines:
        by_commune[line.commune_code].append(line)
    return tuple(
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


# How the plan was solved, in words: the CLI and the exports show it beside the proof.
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
