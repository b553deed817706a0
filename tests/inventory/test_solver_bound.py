"""The Lagrangian bound never undercuts the optimum, and bound fixing never fixes it away."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.solver import coverable_groups
from inventory.solver_bound import best_multiplier, fixings, multiplier, ratio

PRICES = [2_500_000, 4_800_000, 12_000_000, 16_500_000]
Instance = tuple[list[int], list[int], int, list[list[int]]]


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    n = draw(st.integers(min_value=1, max_value=9))
    values = draw(st.lists(st.integers(0, 5_000), min_size=n, max_size=n))
    costs = draw(st.lists(st.sampled_from(PRICES), min_size=n, max_size=n))
    budget = draw(st.integers(min_value=0, max_value=sum(costs)))
    owners = draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n))
    groups = [[i for i in range(n) if owners[i] == g] for g in range(3)]
    return values, costs, budget, [group for group in groups if group]


def optimal_selections(
    values: Sequence[int], costs: Sequence[int], budget: int, groups: Sequence[Sequence[int]]
) -> tuple[int, int, list[set[int]]]:
    """(coverage needed, best value, every selection reaching it) by enumeration."""
    need = coverable_groups(costs, budget, groups)
    best, winners = -1, []
    for size in range(len(values) + 1):
        for chosen in map(set, itertools.combinations(range(len(values)), size)):
            covers = sum(1 for group in groups if chosen & set(group))
            if sum(costs[i] for i in chosen) > budget or covers < need:
                continue
            value = sum(values[i] for i in chosen)
            if value > best:
                best, winners = value, [chosen]
            elif value == best:
                winners.append(chosen)
    return need, best, winners


def usable(values: Sequence[int], costs: Sequence[int], budget: int, groups: list[list[int]]):
    in_group = {i for group in groups for i in group}
    return [i for i in range(len(values)) if costs[i] <= budget and (values[i] or i in in_group)]


@settings(max_examples=200, deadline=None)
@given(instances())
def test_the_bound_is_at_least_the_optimum(instance: Instance) -> None:
    values, costs, budget, groups = instance
    need, best, _ = optimal_selections(values, costs, budget, groups)
    items = usable(values, costs, budget, groups)
    chosen = best_multiplier(values, costs, budget, items, groups, need)
    assert chosen.bound is not None
    assert chosen.bound >= chosen.q * best
    # Any λ gives a valid bound (weak duality), λ = 0 and every item's ratio included.
    for p, q in [(0, 1), *((values[i], costs[i]) for i in items if costs[i])]:
        other = multiplier(values, costs, budget, items, groups, need, p, q)
        assert other.bound is not None
        assert other.bound >= other.q * best


@settings(max_examples=200, deadline=None)
@given(instances())
def test_fixed_items_agree_with_every_optimal_selection(instance: Instance) -> None:
    values, costs, budget, groups = instance
    need, best, winners = optimal_selections(values, costs, budget, groups)
    items = usable(values, costs, budget, groups)
    m = best_multiplier(values, costs, budget, items, groups, need)
    fixed_in, fixed_out = fixings(values, costs, items, groups, need, m, best)
    for winner in winners:
        assert fixed_in <= winner
        assert not fixed_out & winner


def test_ratio_orders_by_value_per_dong() -> None:
    assert ratio(10, 0) == math.inf
    assert ratio(30, 3) > ratio(10, 2)
