"""The exact sub-solvers: DP and HiGHS agree with enumeration, and the DP knows when to decline."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.solver_exact import covered, dp_select, milp_select

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


def best_value(
    values: Sequence[int],
    costs: Sequence[int],
    budget: int,
    groups: Sequence[Sequence[int]],
    need: int,
) -> int | None:
    """The best value covering at least ``need`` groups within ``budget``; None if impossible."""
    best: int | None = None
    for size in range(len(values) + 1):
        for chosen in map(set, itertools.combinations(range(len(values)), size)):
            if sum(costs[i] for i in chosen) > budget:
                continue
            if sum(1 for group in groups if chosen & set(group)) < need:
                continue
            value = sum(values[i] for i in chosen)
            best = value if best is None else max(best, value)
    return best


@settings(max_examples=150, deadline=None)
@given(instances())
def test_dp_covers_every_group_or_declines(instance: Instance) -> None:
    values, costs, budget, groups = instance
    items = range(len(values))
    chosen = dp_select(values, costs, items, budget, groups)
    best = best_value(values, costs, budget, groups, len(groups))
    if best is None:
        assert chosen is None
        return
    assert chosen is not None
    assert sum(costs[i] for i in chosen) <= budget
    assert covered(chosen, groups) == frozenset(range(len(groups)))
    assert sum(values[i] for i in chosen) == best


@settings(max_examples=40, deadline=None)
@given(instances(), st.integers(0, 3))
def test_milp_is_optimal_for_any_coverage_count(instance: Instance, need: int) -> None:
    values, costs, budget, groups = instance
    need = min(need, len(groups))
    best = best_value(values, costs, budget, groups, need)
    if best is None:
        return
    chosen, bound, optimal = milp_select(
        values, costs, range(len(values)), budget, groups, need, 10.0
    )
    assert optimal
    assert sum(costs[i] for i in chosen) <= budget
    assert len(covered(chosen, groups)) >= need
    assert sum(values[i] for i in chosen) == bound == best


def test_dp_declines_a_table_too_large_for_memory() -> None:
    # Prices with no common unit make a budget of 10^12 đồng 10^12 cells wide.
    assert dp_select([5, 7], [1_000_003, 1_000_033], [0, 1], 10**12) is None
    assert dp_select([5, 7], [1_000_000, 2_000_000], [0, 1], 10**12) == frozenset({0, 1})
