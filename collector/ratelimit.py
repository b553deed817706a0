"""Per-agent rate limit of report batches: one token bucket per agent id.

An honest agent posts a batch every 15-60 s and, after an outage, flushes its spool back to back;
a broken or stolen installation looping on POST must not take the collector's capacity from the
province's other agents. The limit is checked after authentication (so the key is a real agent)
and before the body is read (so refusing costs almost nothing). Refused batches stay in the
agent's spool: 429 is retryable and carries Retry-After; nothing is acknowledged, nothing lost.
"""

from __future__ import annotations

import math
import threading

from collector.errors import ReportRejected


class RateLimited(ReportRejected):
    """HTTP 429: this agent sends faster than its limit; ``retry_after`` is in whole seconds."""

    def __init__(self, agent_id: str, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"agent {agent_id} sends report batches faster than its rate limit; "
            f"retry after {self.retry_after} s (nothing was stored)",
            field="Authorization",
            status=429,
        )


class AgentRateLimiter:
    """Token buckets keyed by agent id, on an injected monotonic clock.

    ``rate`` tokens per second refill each bucket up to ``burst``; a batch takes one token.
    ``rate`` 0 turns the limit off. At most ``max_agents`` buckets are kept: beyond that the
    full ones (idle agents, which would be refilled anyway) are forgotten.
    """

    def __init__(self, rate: float, burst: int, max_agents: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._max = max_agents
        self._buckets: dict[str, tuple[float, float]] = {}
        # Routes run on the event loop, but tests and benchmarks may share one from threads.
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when the limit is off."""
        return self.rate > 0

    def take(self, agent_id: str, now: float) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available."""
        if not self.enabled:
            return 0.0
        with self._lock:
            tokens, last = self._buckets.get(agent_id, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
            if tokens >= 1.0:
                self._remember(agent_id, tokens - 1.0, now)
                return 0.0
            self._remember(agent_id, tokens, now)
            return (1.0 - tokens) / self.rate

    def check(self, agent_id: str, now: float) -> None:
        """Raise RateLimited when ``agent_id`` has no token left."""
        wait = self.take(agent_id, now)
        if wait > 0:
            raise RateLimited(agent_id, wait)

    def _remember(self, agent_id: str, tokens: float, now: float) -> None:
        if agent_id not in self._buckets and len(self._buckets) >= self._max:
            full_at = self.burst / self.rate
            self._buckets = {
                key: (left, when)
                for key, (left, when) in self._buckets.items()
                if left + (now - when) * self.rate < self.burst and now - when < full_at
            }
        self._buckets[agent_id] = (tokens, now)

    def __len__(self) -> int:
        return len(self._buckets)
