"""The exact selection against brute force: coverage first, then value, never over budget."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.errors import PlanError
from inventory.solver import coverable_groups, greedy_cut, greedy_fill, select

PRICES = [2_500_000, 4_800_000, 12_000_000, 16_500_000, 18_750_000, 30_000_000]


def brute_force(
    values: Sequence[int], costs: Sequence[int], budget: int, groups: Sequence[Sequence[int]]
) -> tuple[int, int]:
    """(groups covered, value) of the lexicographically best subset, by enumeration."""
    best = (-1, -1)
    for mask in range(1 << len(values)):
        chosen = [i for i in range(len(values)) if mask >> i & 1]
        if sum(costs[i] for i in chosen) > budget:
            continue
        covered = sum(1 for group in groups if any(i in chosen for i in group))
        best = max(best, (covered, sum(values[i] for i in chosen)))
    return best


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[int], list[int], int, list[list[int]]]:
    n = draw(st.integers(min_value=0, max_value=11))
    values = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n))
    costs = draw(st.lists(st.sampled_from(PRICES), min_size=n, max_size=n))
    budget = draw(st.integers(min_value=0, max_value=max(1, sum(costs))))
    # Disjoint groups: give each item a group number or none.
    owners = draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n))
    groups = [[i for i in range(n) if owners[i] == g] for g in range(4)]
    return values, costs, budget, [group for group in groups if group]


@settings(max_examples=300, deadline=None)
@given(instances())
def test_matches_brute_force(instance: tuple[list[int], list[int], int, list[list[int]]]) -> None:
    values, costs, budget, groups = instance
    result = select(values, costs, budget, groups)
    assert result.cost == sum(costs[i] for i in result.chosen) <= budget
    assert result.value == sum(values[i] for i in result.chosen)
    assert (len(result.covered), result.value) == brute_force(values, costs, budget, groups)
    assert result.optimal
    assert result.bound == result.value


def test_seeded_instances_with_many_equal_prices_match_brute_force() -> None:
    # Equal prices are where the symmetry-breaking constraints act: check them on purpose.
    rng = random.Random(8)
    for _ in range(60):
        n = rng.randint(6, 13)
        values = [rng.randint(1, 50) for _ in range(n)]
        costs = [rng.choice(PRICES[:2]) for _ in range(n)]
        budget = rng.randint(0, sum(costs))
        groups = [list(range(0, 3)), list(range(3, 5))] if n > 5 else []
        result = select(values, costs, budget, groups)
        assert (len(result.covered), result.value) == brute_force(values, costs, budget, groups)
        assert result.cost <= budget


def test_coverage_comes_before_value() -> None:
    # A 4,800,000 printer worth 1 point must be chosen over a 16,500,000 PC worth 9,000 when the
    # budget allows both only if the PC is dropped.
    values, costs = [9_000, 1], [16_500_000, 4_800_000]
    assert select(values, costs, 16_500_000, [[1]]).chosen == frozenset({1})
    assert select(values, costs, 21_300_000, [[1]]).chosen == frozenset({0, 1})
    # Not affordable at all: priority decides.
    assert select(values, costs, 4_000_000, [[1]]).chosen == frozenset()


def test_cheapest_groups_are_covered_first() -> None:
    costs = [4_800_000, 12_000_000, 4_800_000]
    assert coverable_groups(costs, 10_000_000, [[0], [1], [2]]) == 2
    result = select([1, 100, 1], costs, 10_000_000, [[0], [1], [2]])
    assert result.covered == frozenset({0, 2})


def test_budget_covering_everything_takes_every_useful_item() -> None:
    result = select([5, 0, 7], [1_000, 1_000, 1_000], 10_000, [])
    assert result.chosen == frozenset({0, 2})
    assert result.method == "all"


def test_greedy_references() -> None:
    values, costs = [10, 9, 9], [10, 6, 6]
    # Ratios 1.0, 1.5, 1.5 → items 1 and 2 first; "cut" stops at item 0, "fill" too (no room).
    assert greedy_cut(values, costs, 12).chosen == frozenset({1, 2})
    assert greedy_cut(values, costs, 11).chosen == frozenset({1})
    assert greedy_fill([10, 9, 1], [10, 6, 1], 11).chosen == frozenset({1, 2})


def test_bad_inputs_are_plan_errors() -> None:
    with pytest.raises(PlanError, match="negative"):
        select([1], [1], -1)
    with pytest.raises(PlanError, match="groups 0 and 1"):
        select([1, 1], [1, 1], 5, [[0], [0, 1]])
    with pytest.raises(PlanError, match="does not exist"):
        select([1], [1], 5, [[3]])
    with pytest.raises(PlanError, match="values for"):
        select([1, 2], [1], 5)


def test_large_instance_is_proven_optimal_quickly() -> None:
    rng = random.Random(1)
    n = 3_000
    costs = [rng.choice(PRICES) for _ in range(n)]
    values = [rng.randint(3_000, 9_500) for _ in range(n)]
    groups = [list(range(k, k + 3)) for k in range(0, 300, 3)]
    result = select(values, costs, sum(costs) // 4, groups)
    assert result.optimal
    assert result.cost <= sum(costs) // 4
    assert len(result.covered) == len(groups)
    for group in itertools.islice(groups, 5):
        assert any(i in result.chosen for i in group)
    free = select(values, costs, sum(costs) // 4)
    assert free.optimal
    # Coverage can only cost value; the exact optimum is never below a greedy one.
    assert greedy_fill(values, costs, sum(costs) // 4).value <= free.value
    assert result.value <= free.value


def test_fixing_and_dp_agree_with_plain_milp_on_medium_instances() -> None:
    # Brute force stops at ~20 items; on larger instances the plain MILP is the oracle.
    rng = random.Random(42)
    methods = set()
    for _ in range(25):
        n = rng.randint(40, 250)
        costs = [rng.choice(PRICES) for _ in range(n)]
        values = [rng.randint(0, 10_000) for _ in range(n)]
        owners = [rng.choice([-1, -1, -1, *range(8)]) for _ in range(n)]
        groups = [[i for i in range(n) if owners[i] == g] for g in range(8)]
        groups = [group for group in groups if group]
        budget = rng.randint(0, sum(costs) // 2)
        fast = select(values, costs, budget, groups)
        oracle = select(values, costs, budget, groups, strategy="milp")
        assert (len(fast.covered), fast.value) == (len(oracle.covered), oracle.value)
        assert fast.cost <= budget
        assert fast.optimal
        methods.add(fast.method)
    assert "bound-fixing+dp" in methods


def test_prices_that_are_not_round_fall_back_to_the_milp() -> None:
    # A GCD of 1 VND makes the DP table budget × items cells: too big, so HiGHS solves the core.
    values = [70, 60, 50, 40, 30, 20, 10, 5]
    costs = [16_499_999, 4_800_001, 12_000_007, 9_999_991, 4_800_001, 3_000_017, 2_500_003, 7]
    result = select(values, costs, 30_000_000, [[1, 4]])
    assert result.method == "bound-fixing+milp-highs"
    assert (len(result.covered), result.value) == brute_force(values, costs, 30_000_000, [[1, 4]])
