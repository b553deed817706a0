"""Lagrangian bound and bound fixing of the replacement selection (step 2 of ``solver``).

For any λ ≥ 0 a selection within the budget is worth at most λ·B + Σ (v_i − λ·c_i)·x_i, with the
coverage requirement kept exactly. ``best_multiplier`` picks λ among the items' value/cost ratios
to make that bound smallest; ``fixings`` then finds the items every optimal selection takes or
leaves, because forcing them the other way drops the bound below a known feasible value. All in
exact integer arithmetic (everything scaled by λ's denominator).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


def ratio(value: int, cost: int) -> float:
    """Value per đồng, infinite for a free item (the greedy order)."""
    return math.inf if cost == 0 else value / cost


@dataclass(frozen=True)
class Multiplier:
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


INFINITE = 1 << 100


def multiplier(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    p: int,
    q: int,
) -> Multiplier:
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
            group_loss.append(INFINITE)
        elif any(d > 0 for d in members):
            group_loss.append(0)
        else:
            group_loss.append(u - max(members))
    losses = sorted(group_loss)[:need]
    bound = (
        None
        if any(loss >= INFINITE for loss in losses)
        else (p * budget + loose_part + sum(group_u) - sum(losses))
    )
    return Multiplier(
        p, q, reduced, p * budget, loose_part, tuple(group_u), tuple(group_loss), bound
    )


def best_multiplier(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
) -> Multiplier:
    """The λ, among the items' value ÷ cost ratios, that gives the lowest bound.

    Without groups it is the LP break item's ratio (LP duality); with groups the bound is a
    convex piecewise-linear function of λ, searched by bisection over the sorted ratios.
    """
    if not groups:
        order = sorted(usable, key=lambda i: (-ratio(values[i], costs[i]), i))
        spent = 0
        for i in order:
            if spent + costs[i] > budget:
                return multiplier(values, costs, budget, usable, groups, need, values[i], costs[i])
            spent += costs[i]
        return multiplier(values, costs, budget, usable, groups, need, 0, 1)
    # One candidate per distinct λ: equal ratios would make flat steps that mislead the search.
    distinct = {Fraction(values[i], costs[i]): (values[i], costs[i]) for i in usable if costs[i]}
    ratios = [distinct[key] for key in sorted(distinct)]
    if not ratios:
        return multiplier(values, costs, budget, usable, groups, need, 0, 1)

    def at(index: int) -> Multiplier:
        v, c = ratios[index]
        return multiplier(values, costs, budget, usable, groups, need, v, c)

    def worth(m: Multiplier) -> Fraction:
        return Fraction(INFINITE) if m.bound is None else Fraction(m.bound, m.q)

    low, high = 0, len(ratios) - 1
    while low < high:
        middle = (low + high) // 2
        if worth(at(middle)) <= worth(at(middle + 1)):
            high = middle
        else:
            low = middle + 1
    return at(low)


def fixings(
    values: Sequence[int],
    costs: Sequence[int],
    usable: Sequence[int],
    groups: Sequence[Sequence[int]],
    need: int,
    m: Multiplier,
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
            return INFINITE
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
        if lost >= INFINITE:
            return -INFINITE
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
                loss_out = INFINITE
            with_out = bound_with(j, u_without, loss_out)
            if with_out < target:
                fixed_in.add(i)
            elif with_in < target:
                fixed_out.add(i)
    return fixed_in, fixed_out
