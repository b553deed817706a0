"""The per-agent token buckets of report batches (collector/ratelimit.py): rate, burst, bound."""

from __future__ import annotations

import pytest

from collector.ratelimit import AgentRateLimiter


def test_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    limiter = AgentRateLimiter(rate=2.0, burst=4)
    assert [limiter.take("a", 0.0) for _ in range(4)] == [0.0] * 4
    assert limiter.take("a", 0.0) == pytest.approx(0.5)
    assert limiter.take("a", 0.5) == 0.0  # one token back after 0.5 s at 2/s
    # A long idle time refills only up to the burst.
    assert [limiter.take("a", 100.0) for _ in range(5)][-1] == pytest.approx(0.5)


def test_token_buckets_are_bounded_in_number() -> None:
    limiter = AgentRateLimiter(rate=1.0, burst=2, max_agents=10)
    for index in range(10):
        limiter.take(f"idle-{index}", 0.0)
    # Ten seconds later every bucket is full again: forgetting them changes nothing.
    limiter.take("new", 10.0)
    assert len(limiter) == 1
    limiter.take("busy", 10.0)
    limiter.take("busy", 10.0)
    assert limiter.take("busy", 10.0) == pytest.approx(1.0)
