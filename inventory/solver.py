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
so the gap is known (``optimal`` is then False).
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Any, Literal

import numpy as np
from scipy.optimize import (  # type: ignore[import-untyped,unused-ignore]
    Bounds,
    LinearConstraint,
    milp,
)
from scipy.sparse import coo_matrix  # type: ignore[import-untyped,unused-ignore]

from inventory.errors import PlanError

_RETRIES = 3
# Largest DP table (items × budget units) tried before handing the core to the MILP: 64 MB.
_DP_MAX_CELLS = 64_000_000
_NEG = -(1 << 60)
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


def _covered(chosen: frozenset[int], groups: Sequence[Sequence[int]]) -> frozenset[int]:
    return frozenset(j for j, group in enumerate(groups) if any(i in chosen for i in group))


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
        chosen, bound, optimal = _milp(
            values, costs, usable, budget, open_groups, need, time_limit_seconds
        )
        chosen = _trim(chosen, values, groups)
        return _result(chosen, values, costs, groups, bound, optimal, "milp-highs", started)
    multiplier = _best_multiplier(values, costs, budget, usable, groups, need)
    incumbent = _incumbent(values, costs, budget, groups, need, usable)
    guess = _core_guess(values, costs, budget, usable, groups, need, multiplier)
    if guess is not None and _value(guess, values) > _value(incumbent, values):
        incumbent = guess
    fixed_in, fixed_out = _fixings(
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
    covered_by_fixed = _covered(frozenset(fixed_in), groups)
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
        core = _dp(values, costs, free, budget_left)
    elif need_left == len(open_groups):
        # The usual case: the budget covers every open group, so each must get an item.
        core = _dp(values, costs, free, budget_left, open_groups)
    if core is not None:
        chosen = frozenset(fixed_in) | core
        return chosen, _value(chosen, values), True, "bound-fixing+dp"
    if time_limit_seconds is None:
        return frozenset(), 0, False, "none"
    chosen_free, bound_free, optimal = _milp(
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
    for i in sorted(allowed - chosen, key=lambda i: (-_ratio(values[i], costs[i]), i)):
        if values[i] > 0 and spent + costs[i] <= budget:
            chosen.add(i)
            spent += costs[i]
    return frozenset(chosen)


def _ratio(value: int, cost: int) -> float:
    return math.inf if cost == 0 else value / cost


@dataclass(frozen=True)
class _Multiplier:
    """λ = p / q for the budget constraint, with the scaled reduced profits and the bound.

    Everything is multiplied by q so that it stays in exact integers: ``reduced[i]`` is
    q·v_i − p·c_i and ``bound`` is q × the Lagrangian bound (None: no selection covers ``need``).
    """

    p: int
    q: int
    reduced: dict[int, int]
    budget_part: int
    loose_part: int
    group_u: tuple[int, ...]
    group_loss: tuple[int, ...]
    bound: int | None


_INF = 1 << 100


def _multiplier(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    p: int,
    q: int,
) -> _Multiplier:
    """The Lagrangian bound at λ = p / q, the coverage requirement kept exactly.

    For any λ ≥ 0 a selection within budget is worth at most λ·B + Σ (v_i − λ·c_i)·x_i. Items
    outside groups contribute max(0, d_i); a group contributes U_j = Σ max(0, d_i) when free and
    C_j = U_j if some d_i > 0, else its best single d_i, when it must be covered; at least
    ``need`` groups are covered, the ones losing least (U_j − C_j).
    """
    usable_set = set(usable)
    reduced = {i: values[i] * q - p * costs[i] for i in usable}
    in_group = {i for group in groups for i in group}
    loose_part = sum(d for i, d in reduced.items() if d > 0 and i not in in_group)
    group_u: list[int] = []
    group_loss: list[int] = []
    for group in groups:
        members = [reduced[i] for i in group if i in usable_set]
        u = sum(d for d in members if d > 0)
        group_u.append(u)
        if not members:
            group_loss.append(_INF)
        elif any(d > 0 for d in members):
            group_loss.append(0)
        else:
            group_loss.append(u - max(members))
    losses = sorted(group_loss)[:need]
    bound = (
        None
        if any(loss >= _INF for loss in losses)
        else (p * budget + loose_part + sum(group_u) - sum(losses))
    )
    return _Multiplier(
        p, q, reduced, p * budget, loose_part, tuple(group_u), tuple(group_loss), bound
    )


def _best_multiplier(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
) -> _Multiplier:
    """The λ, among the items' value ÷ cost ratios, that gives the lowest bound.

    Without groups it is the LP break item's ratio (LP duality); with groups the bound is a
    convex piecewise-linear function of λ, searched by bisection over the sorted ratios.
    """
    if not groups:
        order = sorted(usable, key=lambda i: (-_ratio(values[i], costs[i]), i))
        spent = 0
        for i in order:
            if spent + costs[i] > budget:
                return _multiplier(values, costs, budget, usable, groups, need, values[i], costs[i])
            spent += costs[i]
        return _multiplier(values, costs, budget, usable, groups, need, 0, 1)
    # One candidate per distinct λ: equal ratios would make flat steps that mislead the search.
    distinct = {Fraction(values[i], costs[i]): (values[i], costs[i]) for i in usable if costs[i]}
    ratios = [distinct[key] for key in sorted(distinct)]
    if not ratios:
        return _multiplier(values, costs, budget, usable, groups, need, 0, 1)

    def at(index: int) -> _Multiplier:
        v, c = ratios[index]
        return _multiplier(values, costs, budget, usable, groups, need, v, c)

    def worth(m: _Multiplier) -> Fraction:
        return Fraction(_INF) if m.bound is None else Fraction(m.bound, m.q)

    low, high = 0, len(ratios) - 1
    while low < high:
        middle = (low + high) // 2
        if worth(at(middle)) <= worth(at(middle + 1)):
            high = middle
        else:
            low = middle + 1
    return at(low)


def _fixings(
    values: Sequence[int],
    costs: Sequence[int],
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    m: _Multiplier,
    floor_value: int,
) -> tuple[set[int], set[int]]:
    """Items every optimal selection takes (first set) or leaves (second set).

    Forcing an item against its Lagrangian choice lowers the bound; if the lowered bound is
    below ``floor_value``, the value of a feasible selection meeting the coverage count, no
    optimal selection does it. Exact integer arithmetic (scaled by q).
    """
    if m.bound is None:
        return set(), set()
    target = m.q * floor_value
    fixed_in: set[int] = set()
    fixed_out: set[int] = set()
    group_of = {i: j for j, group in enumerate(groups) for i in group}
    for i in usable:
        d = m.reduced[i]
        if i in group_of:
            continue
        if d > 0 and m.bound - d < target:
            fixed_in.add(i)
        elif d < 0 and m.bound + d < target:
            fixed_out.add(i)
    if not groups:
        return fixed_in, fixed_out
    usable_set = set(usable)
    ordered = sorted(m.group_loss)
    prefix = [0]
    for loss in ordered:
        prefix.append(prefix[-1] + loss)
    total_u = sum(m.group_u)

    def smallest(count: int, removed: int) -> int:
        """Sum of the ``count`` smallest losses once one loss equal to ``removed`` is removed."""
        if count <= 0:
            return 0
        if count > len(ordered) - 1:
            return _INF
        position = bisect.bisect_left(ordered, removed)
        if position < count:
            return prefix[count + 1] - removed
        return prefix[count]

    def bound_with(j: int, new_u: int, new_loss: int) -> int:
        """The bound when group j's (U, loss) become (new_u, new_loss)."""
        old_loss = m.group_loss[j]
        lost = 0
        if need > 0:
            lost = min(smallest(need, old_loss), smallest(need - 1, old_loss) + new_loss)
        if lost >= _INF:
            return -_INF
        return m.budget_part + m.loose_part + total_u - m.group_u[j] + new_u - lost

    for j, group in enumerate(groups):
        members = [i for i in group if i in usable_set]
        for i in members:
            d = m.reduced[i]
            others = [m.reduced[k] for k in members if k != i]
            u_without = m.group_u[j] - max(0, d)
            # Forced in: the group is covered by i, the others stay free.
            with_in = bound_with(j, u_without + d, 0)
            # Forced out: the group must be covered, if at all, by the others.
            if any(o > 0 for o in others):
                loss_out = 0
            elif others:
                loss_out = u_without - max(others)
            else:
                loss_out = _INF
            with_out = bound_with(j, u_without, loss_out)
            if with_out < target:
                fixed_in.add(i)
            elif with_in < target:
                fixed_out.add(i)
    return fixed_in, fixed_out


def _core_guess(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    m: _Multiplier,
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
        covered=_covered(chosen, groups),
        value=value,
        cost=sum(costs[i] for i in chosen),
        bound=value if bound is None or optimal else max(bound, value),
        optimal=optimal,
        method=method,
        seconds=time.perf_counter() - started,
    )


def _dp(
    values: Sequence[int],
    costs: Sequence[int],
    items: Sequence[int],
    budget: int,
    groups: Sequence[Sequence[int]] = (),
) -> frozenset[int] | None:
    """Exact 0/1 knapsack by dynamic programming, every group in ``groups`` getting an item.

    The budget is counted in units of the costs' greatest common divisor. That is exact, not a
    rounding: every cost is a multiple of the unit, so any spend is too and flooring the budget
    to the unit loses nothing. Each group is a block with two layers, "none of the group chosen
    yet" and "at least one chosen", and only the second survives the block. Returns None when
    the table would be too large (a price that is not a round number makes the unit tiny) or no
    selection covers every group, leaving the MILP to decide.
    """
    unit = reduce(math.gcd, (costs[i] for i in items if costs[i] > 0), 0) or 1
    capacity = budget // unit
    if (capacity + 1) * max(1, len(items)) > _DP_MAX_CELLS:
        return None
    in_group = {item for group in groups for item in group}
    loose = [item for item in items if item not in in_group]
    order = loose + [item for group in groups for item in group]
    weights = {item: costs[item] // unit for item in order}
    # codes[k, b]: 0 item not taken; 1 taken on top of the same layer; 2 taken as the group's first.
    codes = np.zeros((len(order), capacity + 1), dtype=np.int8)
    dp = np.zeros(capacity + 1, dtype=np.int64)

    def take(layer: np.ndarray, source: np.ndarray, k: int, code: int) -> None:
        weight, value = weights[order[k]], values[order[k]]
        if weight > capacity:
            return
        # Taking item k at capacity b is worth source[b − w] + v, from the row before item k.
        candidate = source[: capacity + 1 - weight] + value
        better = candidate > layer[weight:]
        codes[k, weight:] = np.where(better, code, codes[k, weight:])
        layer[weight:] = np.where(better, candidate, layer[weight:])

    k = 0
    for item in loose:
        if values[item] > 0:
            take(dp, dp.copy(), k, 1)
        k += 1
    blocks: list[tuple[int, int]] = []
    for group in groups:
        none_yet = dp
        some = np.full(capacity + 1, _NEG, dtype=np.int64)
        start = k
        for _ in group:
            previous = some.copy()
            take(some, previous, k, 1)
            take(some, none_yet, k, 2)
            k += 1
        blocks.append((start, k))
        dp = some
    if dp[capacity] < 0:
        return None

    chosen: list[int] = []
    left = capacity
    for start, stop in reversed(blocks):
        first_taken = False
        for index in range(stop - 1, start - 1, -1):
            if first_taken:
                break
            code = int(codes[index, left])
            if code:
                chosen.append(order[index])
                left -= weights[order[index]]
                first_taken = code == 2
    for index in range(len(loose) - 1, -1, -1):
        if codes[index, left]:
            chosen.append(order[index])
            left -= weights[order[index]]
    return frozenset(chosen)


def _milp(
    values: Sequence[int],
    costs: Sequence[int],
    items: Sequence[int],
    budget: int,
    groups: Sequence[Sequence[int]],
    need: int,
    time_limit_seconds: float,
) -> tuple[frozenset[int], int, bool]:
    """Solve step 2 on ``items``; returns (chosen items, proven bound, proven optimal)."""
    unit = reduce(math.gcd, (costs[i] for i in items if costs[i] > 0), 0) or 1
    scaled_budget = budget // unit
    for _ in range(_RETRIES):
        chosen, bound, optimal = _milp_once(
            values, costs, unit, scaled_budget, items, groups, need, time_limit_seconds
        )
        spent = sum(costs[i] for i in chosen)
        covered = len(_covered(chosen, groups))
        if spent <= budget and covered >= need:
            return chosen, bound, optimal
        # A tolerance let the solver overspend: ask again with one price unit less.
        scaled_budget -= 1
    raise PlanError(f"the MILP solver kept exceeding the budget of {budget} VND")


def _milp_once(
    values: Sequence[int],
    costs: Sequence[int],
    unit: int,
    scaled_budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    time_limit_seconds: float,
) -> tuple[frozenset[int], int, bool]:
    index = {item: k for k, item in enumerate(usable)}
    n = len(usable)
    active_groups = (
        [[index[i] for i in group if i in index] for group in groups] if need > 0 else []
    )
    m = len(active_groups)
    group_of = {k: j for j, group in enumerate(active_groups) for k in group}

    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    upper: list[float] = []
    lower: list[float] = []
    row = 0

    def add_row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        nonlocal row
        for col, coef in entries:
            rows.append(row)
            cols.append(col)
            data.append(coef)
        lower.append(lo)
        upper.append(hi)
        row += 1

    add_row([(k, costs[i] // unit) for k, i in enumerate(usable)], -np.inf, scaled_budget)
    for j, group in enumerate(active_groups):
        # y_j ≤ Σ x_i over the group: a group counts as covered only if one of its items is chosen.
        add_row([(n + j, 1.0)] + [(k, -1.0) for k in group], -np.inf, 0.0)
    if m:
        add_row([(n + j, 1.0) for j in range(m)], need, np.inf)
    # Symmetry breaking among interchangeable items (same cost, same group): best first.
    classes: dict[tuple[int, int], list[int]] = {}
    for k, i in enumerate(usable):
        classes.setdefault((costs[i], group_of.get(k, -1)), []).append(k)
    for members in classes.values():
        members.sort(key=lambda k: (-values[usable[k]], k))
        for before, after in itertools.pairwise(members):
            add_row([(after, 1.0), (before, -1.0)], -np.inf, 0.0)

    size = n + m
    matrix = coo_matrix((data, (rows, cols)), shape=(row, size)).tocsr()
    objective = np.zeros(size)
    objective[:n] = [-values[i] for i in usable]
    result: Any = milp(
        objective,
        constraints=LinearConstraint(matrix, np.array(lower), np.array(upper)),
        integrality=np.ones(size),
        bounds=Bounds(np.zeros(size), np.ones(size)),
        options={"mip_rel_gap": 0.0, "time_limit": time_limit_seconds, "disp": False},
    )
    if result.x is None:
        raise PlanError(f"the MILP solver found no plan: {result.message}")
    chosen = frozenset(usable[k] for k in range(n) if result.x[k] > 0.5)
    value = sum(values[i] for i in chosen)
    dual = getattr(result, "mip_dual_bound", None)
    # The objective is an integer, so the proven bound can be rounded down.
    bound = value if dual is None or not np.isfinite(dual) else math.floor(-dual + 1e-6)
    optimal = result.status == 0 or bound <= value
    return chosen, max(bound, value), optimal


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
