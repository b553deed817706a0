"""Exact solvers of the reduced selection (steps 3 and 4 of ``solver``): DP, else HiGHS MILP.

``dp_select`` is a 0/1 knapsack by dynamic programming over the budget counted in units of the
prices' greatest common divisor (exact: every price is a multiple of it), each coverage group a
two-layer block that must end covered; it declines (None) when the table would be too large.
``milp_select`` hands the items to HiGHS through ``scipy.optimize.milp`` with a zero gap and
re-checks the answer in integers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from functools import reduce
from typing import Any

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


def covered(chosen: frozenset[int], groups: Sequence[Sequence[int]]) -> frozenset[int]:
    """The groups with at least one chosen item."""
    return frozenset(j for j, group in enumerate(groups) if any(i in chosen for i in group))


def dp_select(
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


def milp_select(
    values: Sequence[int],
    costs: Sequence[int],
    items: Sequence[int],
    budget: int,
    groups: Sequence[Sequence[int]],
    need: int,
    time_limit_seconds: float,
) -> tuple[frozenset[int], int, bool]:
    """The best selection of ``items`` by HiGHS: (chosen items, proven bound, proven optimal)."""
    unit = reduce(math.gcd, (costs[i] for i in items if costs[i] > 0), 0) or 1
    scaled_budget = budget // unit
    for _ in range(_RETRIES):
        chosen, bound, optimal = _milp_once(
            values, costs, unit, scaled_budget, items, groups, need, time_limit_seconds
        )
        spent = sum(costs[i] for i in chosen)
        covered_count = len(covered(chosen, groups))
        if spent <= budget and covered_count >= need:
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
