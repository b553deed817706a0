"""Exact selection of replacements under a budget: coverage first, then total priority.

The problem: items ``i`` with an integer value ``v_i`` (priority points) and an integer cost
``c_i`` (VND); disjoint groups ``G_j`` of items (e.g. the printers of one commune that has no
working printer). Choose ``x_i ∈ {0, 1}`` with ``Σ c_i x_i ≤ budget`` to maximise, in this order,

1. the number of groups with at least one chosen item (the coverage constraints), then
2. the total value ``Σ v_i x_i``.

Method, and why (all steps exact; integer arithmetic wherever a decision is taken):

1. The coverage count is solved in closed form: covering a group costs at least its cheapest
   item and groups are disjoint, so the most groups that fit are the cheapest ones.
2. Bound fixing (the "core" idea of exact knapsack codes): a Lagrangian bound on the budget
   constraint, which keeps the coverage requirement, with λ chosen among the items' ratios to
   minimise it; a good feasible selection (greedy, then an exact DP on the few hundred items
   nearest the break ratio); every item that cannot be set against its Lagrangian choice
   without the bound falling below that selection's value is fixed. On the 5,000-asset
   benchmark this leaves a few hundred items.
3. The rest is solved exactly by dynamic programming over the budget counted in units of the
   prices' greatest common divisor (exact, not a rounding: every price is a multiple of it),
   each coverage group a two-layer block that must end covered.
4. When the DP does not apply (partial coverage, or a price that is not a round number makes
   the table too large), HiGHS solves the rest as a MILP through ``scipy.optimize.milp`` with a
   relative gap of 0; as the objective is an integer, its proof is exact. Items with the same
   cost and group are interchangeable but for value, so ordering constraints (best first) cut
   the symmetric solutions that slow branch and bound; the answer is re-checked in integers and
   solved again with a budget one price unit lower if a tolerance let it overspend.

A plain DP over the whole province (5,000 items × budget ÷ 50,000 VND cells) and a plain MILP
(1–6 s on the benchmark's scenarios: branch and bound struggles to close the last point of gap
of a knapsack) were both too slow; ``strategy="milp"`` keeps the plain MILP as a cross-check.

If the time limit stops the search first, the best plan found is returned with the proven bound,
so the gap is known (``optimal`` is then False). Step 2 lives in ``solver_bound``, steps 3 and 4
in ``solver_exact``; this module orchestrates them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from inventory.errors import PlanError
from inventory.solver_bound import Multiplier, best_multiplier, fixings, ratio
from inventory.solver_exact import covered, dp_select, milp_select

# Items of the first guess solved exactly around the Lagrangian break (the "core").
_CORE_SIZE = 300


@dataclass(frozen=True)
class Selection:
    """Chosen items, covered groups, totals and the proof of optimality."""

    chosen: frozenset[int]
    covered: frozenset[int]
    value: int
    cost: int
    # Best proven upper bound on the value at this coverage; equals ``value`` when optimal.
    bound: int
    optimal: bool
    method: str
    seconds: float


def _check(
    values: Sequence[int], costs: Sequence[int], budget: int, groups: Sequence[Sequence[int]]
) -> None:
    if len(values) != len(costs):
        raise PlanError(f"{len(values)} values for {len(costs)} costs")
    if budget < 0:
        raise PlanError(f"budget {budget} VND is negative")
    if any(value < 0 for value in values):
        raise PlanError("item values must be 0 or more")
    if any(cost < 0 for cost in costs):
        raise PlanError("item costs must be 0 or more")
    owner: dict[int, int] = {}
    for index, group in enumerate(groups):
        for item in group:
            if not 0 <= item < len(values):
                raise PlanError(f"group {index} names item {item}, which does not exist")
            if item in owner:
                raise PlanError(f"item {item} is in groups {owner[item]} and {index}")
            owner[item] = index


def coverable_groups(costs: Sequence[int], budget: int, groups: Sequence[Sequence[int]]) -> int:
    """The most groups that can each get one item within ``budget`` (cheapest groups first)."""
    cheapest = sorted(min(costs[item] for item in group) for group in groups if group)
    count, spent = 0, 0
    for cost in cheapest:
        if spent + cost > budget:
            break
        spent += cost
        count += 1
    return count


def select(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    groups: Sequence[Sequence[int]] = (),
    *,
    time_limit_seconds: float = 30.0,
    strategy: Literal["auto", "milp"] = "auto",
) -> Selection:
    """The exact best selection: most groups covered, then most value, within ``budget``.

    ``strategy="milp"`` skips the bound fixing and the DP and hands everything to HiGHS: slower,
    the same optimum; the tests use it as an independent oracle.
    """
    started = time.perf_counter()
    _check(values, costs, budget, groups)
    n = len(values)
    need = coverable_groups(costs, budget, groups)
    in_group = {item for group in groups for item in group}
    # Items that cannot fit alone never fit; items worth nothing only matter for coverage.
    usable = [i for i in range(n) if costs[i] <= budget and (values[i] > 0 or i in in_group)]
    if sum(costs[i] for i in usable) <= budget:
        chosen = _trim(frozenset(usable), values, groups)
        return _result(chosen, values, costs, groups, None, True, "all", started)

    if strategy == "milp":
        open_groups = [[i for i in group if i in set(usable)] for group in groups]
        chosen, bound, optimal = milp_select(
            values, costs, usable, budget, open_groups, need, time_limit_seconds
        )
        chosen = _trim(chosen, values, groups)
        return _result(chosen, values, costs, groups, bound, optimal, "milp-highs", started)
    multiplier = best_multiplier(values, costs, budget, usable, groups, need)
    incumbent = _incumbent(values, costs, budget, groups, need, usable)
    guess = _core_guess(values, costs, budget, usable, groups, need, multiplier)
    if guess is not None and _value(guess, values) > _value(incumbent, values):
        incumbent = guess
    fixed_in, fixed_out = fixings(
        values, costs, usable, groups, need, multiplier, _value(incumbent, values)
    )
    chosen, bound, optimal, method = _solve_reduced(
        values, costs, budget, usable, groups, need, fixed_in, fixed_out, time_limit_seconds
    )
    if _value(chosen, values) < _value(incumbent, values):
        # Only possible if the time limit stopped the search early: keep the better plan.
        chosen, optimal = incumbent, False
    chosen = _trim(chosen, values, groups)
    bound = max(bound, _value(chosen, values))
    return _result(chosen, values, costs, groups, bound, optimal, method, started)


def _value(chosen: Iterable[int], values: Sequence[int]) -> int:
    return sum(values[i] for i in chosen)


def _solve_reduced(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    fixed_in: set[int],
    fixed_out: set[int],
    time_limit_seconds: float | None,
) -> tuple[frozenset[int], int, bool, str]:
    """Solve with some items fixed: DP when it fits, else MILP (skipped if no time limit).

    Returns (chosen, bound, optimal, method); with ``time_limit_seconds`` None only the DP is
    tried and an empty, non-optimal answer means it did not apply.
    """
    free = [i for i in usable if i not in fixed_in and i not in fixed_out]
    free_set = set(free)
    budget_left = budget - sum(costs[i] for i in fixed_in)
    covered_by_fixed = covered(frozenset(fixed_in), groups)
    open_groups = [
        [i for i in group if i in free_set]
        for j, group in enumerate(groups)
        if j not in covered_by_fixed
    ]
    need_left = max(0, need - len(covered_by_fixed))
    fixed_value = _value(fixed_in, values)
    if budget_left < 0:
        return frozenset(), 0, False, "none"
    if not free:
        done = need_left == 0
        return frozenset(fixed_in), fixed_value, done, "bound-fixing"
    core: frozenset[int] | None = None
    if need_left == 0:
        core = dp_select(values, costs, free, budget_left)
    elif need_left == len(open_groups):
        # The usual case: the budget covers every open group, so each must get an item.
        core = dp_select(values, costs, free, budget_left, open_groups)
    if core is not None:
        chosen = frozenset(fixed_in) | core
        return chosen, _value(chosen, values), True, "bound-fixing+dp"
    if time_limit_seconds is None:
        return frozenset(), 0, False, "none"
    chosen_free, bound_free, optimal = milp_select(
        values, costs, free, budget_left, open_groups, need_left, time_limit_seconds
    )
    return (
        frozenset(fixed_in) | chosen_free,
        fixed_value + bound_free,
        optimal,
        "bound-fixing+milp-highs",
    )


def _incumbent(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    groups: Sequence[Sequence[int]],
    need: int,
    usable: Sequence[int],
) -> frozenset[int]:
    """A feasible selection meeting the coverage count: cheapest groups, then ratio greedy."""
    allowed = set(usable)
    chosen: set[int] = set()
    spent = 0
    # Each group's cheapest item (the most valuable among equally cheap ones); the `need`
    # cheapest groups fit by definition of `need`, and among equal costs the best value goes first.
    picks = sorted(
        (min(group, key=lambda i: (costs[i], -values[i], i)) for group in groups if group),
        key=lambda i: (costs[i], -values[i], i),
    )
    for item in picks[:need]:
        chosen.add(item)
        spent += costs[item]
    for i in sorted(allowed - chosen, key=lambda i: (-ratio(values[i], costs[i]), i)):
        if values[i] > 0 and spent + costs[i] <= budget:
            chosen.add(i)
            spent += costs[i]
    return frozenset(chosen)


def _core_guess(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    m: Multiplier,
) -> frozenset[int] | None:
    """A good feasible selection: the Lagrangian choice outside a small core, DP inside it.

    Only a starting point (its value sharpens the fixings); None when the DP does not apply.
    """
    if 0 < need < sum(1 for group in groups if group):
        # Not every group can be covered: require the ones the greedy start covers, and let the
        # items of the others compete freely. Any answer still covers `need` groups.
        start = _incumbent(values, costs, budget, groups, need, usable)
        groups = [group for group in groups if any(i in start for i in group)][:need]
        need = len(groups)
    in_group = {i for group in groups for i in group}
    loose = sorted((i for i in usable if i not in in_group), key=lambda i: abs(m.reduced[i]))
    core = set(loose[:_CORE_SIZE]) | (in_group & set(usable))
    fixed_in = {i for i in loose[_CORE_SIZE:] if m.reduced[i] > 0}
    fixed_out = {i for i in loose[_CORE_SIZE:] if m.reduced[i] <= 0}
    assert not core & (fixed_in | fixed_out)
    chosen, _, optimal, _ = _solve_reduced(
        values, costs, budget, usable, groups, need, fixed_in, fixed_out, None
    )
    return chosen if optimal else None


def _trim(
    chosen: frozenset[int], values: Sequence[int], groups: Sequence[Sequence[int]]
) -> frozenset[int]:
    """Drop chosen items worth nothing that no group needs: same value and coverage, less spent."""
    keep = set(chosen)
    needed: set[int] = set()
    for group in groups:
        picked = [i for i in group if i in keep]
        if picked and all(values[i] == 0 for i in picked):
            needed.add(picked[0])
    return frozenset(i for i in keep if values[i] > 0 or i in needed)


def _result(
    chosen: frozenset[int],
    values: Sequence[int],
    costs: Sequence[int],
    groups: Sequence[Sequence[int]],
    bound: int | None,
    optimal: bool,
    method: str,
    started: float,
) -> Selection:
    value = sum(values[i] for i in chosen)
    return Selection(
        chosen=chosen,
        covered=covered(chosen, groups),
        value=value,
        cost=sum(costs[i] for i in chosen),
        bound=value if bound is None or optimal else max(bound, value),
        optimal=optimal,
        method=method,
        seconds=time.perf_counter() - started,
    )


def greedy_cut(values: Sequence[int], costs: Sequence[int], budget: int) -> Selection:
    """The reference "sort by value ÷ cost and cut": take items in ratio order until one fails."""
    started = time.perf_counter()
    order = sorted(range(len(values)), key=lambda i: (-(values[i] / max(costs[i], 1)), i))
    chosen: list[int] = []
    spent = 0
    for i in order:
        if spent + costs[i] > budget:
            break
        chosen.append(i)
        spent += costs[i]
    return _result(frozenset(chosen), values, costs, (), None, False, "greedy-cut", started)


def greedy_fill(values: Sequence[int], costs: Sequence[int], budget: int) -> Selection:
    """Ratio-order greedy that skips what does not fit and goes on (a stronger reference)."""
    started = time.perf_counter()
    order = sorted(range(len(values)), key=lambda i: (-(values[i] / max(costs[i], 1)), i))
    chosen: list[int] = []
    spent = 0
    for i in order:
        if spent + costs[i] <= budget:
            chosen.append(i)
            spent += costs[i]
    return _result(frozenset(chosen), values, costs, (), None, False, "greedy-fill", started)
