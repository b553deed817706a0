"""The collector's own instruments (ingest, processing), registered on an injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class IngestMetrics:
    """Counters and histograms of the ingest path and the journal processor."""

    requests: Counter
    request_seconds: Histogram
    reports: Counter
    samples: Counter
    queue_depth: Gauge
    commit_group_size: Histogram
    processed_reports: Counter
    processing_errors: Counter
    rate_limited: Counter
    store_unavailable: Counter
    head_timeouts: Counter
    budget_refusals: Counter
    request_bounds: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        """Register every instrument on ``registry``."""
        return cls(
            requests=Counter(
                "cm_ingest_requests",
                "Report batches received, by HTTP status code.",
                ["code"],
                registry=registry,
            ),
            request_seconds=Histogram(
                "cm_ingest_request_duration_seconds",
                "Time from receiving a report batch to acknowledging it.",
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            reports=Counter(
                "cm_ingest_reports",
                "Reports received: stored, or duplicate (already stored, ignored).",
                ["result"],
                registry=registry,
            ),
            samples=Counter(
                "cm_ingest_samples", "Samples in newly stored reports.", registry=registry
            ),
            queue_depth=Gauge(
                "cm_ingest_queue_depth",
                "Validated batches waiting for the next journal commit.",
                registry=registry,
            ),
            commit_group_size=Histogram(
                "cm_ingest_commit_group_size",
                "Batches written per journal transaction (group commit).",
                buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
                registry=registry,
            ),
            processed_reports=Counter(
                "cm_processor_reports",
                "Journal entries consumed into current state.",
                registry=registry,
            ),
            processing_errors=Counter(
                "cm_processor_errors",
                "Journal processing passes that failed and will be retried.",
                registry=registry,
            ),
            rate_limited=Counter(
                "cm_ingest_rate_limited",
                "Report batches refused with 429 because their agent exceeded its rate limit.",
                registry=registry,
            ),
            store_unavailable=Counter(
                "cm_store_unavailable_answers",
                "Requests answered 503 because the state store was unavailable (any route).",
                registry=registry,
            ),
            head_timeouts=Counter(
                "cm_http_head_timeouts",
                "Connections closed with 408 because the request head did not arrive within "
                "http_head_timeout_seconds (stalled links, slow-loris clients).",
                registry=registry,
            ),
            budget_refusals=Counter(
                "cm_ingest_budget_refusals",
                "Reports refused for good: past a budget (budget=budgets.<name>, see "
                "settings.budgets) or naming a device another agent owns (budget=device_owner).",
                ["budget"],
                registry=registry,
            ),
            request_bounds=Counter(
                "cm_http_requests_refused",
                "Requests refused at a bound of every route (http settings): bound=body (413), "
                "headers (431), body_timeout (408).",
                ["bound"],
                registry=registry,
            ),
        )
