"""Asset-register and upgrade-plan figures on /metrics, for the ageing-fleet dashboard.

The register lives in the state store, not in the time-series database; these few gauges bring
a summary of it to both history paths (Prometheus scraping /metrics, or VictoriaMetrics scraping
it beside the sink: docs/history.md). Computing them reads the register, the device state and the
journal's saturation window (seconds at province scale, see benchmarks/upgrade_plan.py), and the
register changes rarely, so the figures are cached and recomputed at most every
``refresh_seconds``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, select

from agent.checks.base import Clock
from collector.schema import communes
from inventory.plan import plan_candidates
from inventory.priority import age_years, score_assets
from inventory.reports import InventoryConfig, gather
from inventory.store import local_date

log = logging.getLogger(__name__)

# (upper bound in years, label): labels sort in age order, so Grafana lists the bands in order.
AGE_BANDS: tuple[tuple[float, str], ...] = (
    (1, "0-1"),
    (3, "1-3"),
    (5, "3-5"),
    (7, "5-7"),
    (math.inf, "7+"),
)
DEFAULT_REFRESH_SECONDS = 300.0

Place = tuple[str, str, str]  # province, commune_code, kind


def age_band(years: float) -> str:
    """The band label of an age in years (lower bound included, upper excluded)."""
    return next(label for bound, label in AGE_BANDS if years < bound)


@dataclass(frozen=True)
class FleetSummary:
    """What the gauges show: counts and VND totals per (province, commune, kind)."""

    assets: dict[tuple[str, str, str, str], int]  # place + age band
    past_life: dict[Place, int]
    candidates: dict[Place, int]
    candidates_cost_vnd: dict[Place, int]
    computed_at: float  # Unix time
    seconds: float


def summarise(engine: Engine, config: InventoryConfig, clock: Clock) -> FleetSummary:
    """Count the held assets by age band, those past their life and the plan's candidates."""
    started = time.perf_counter()
    now = clock.now()
    day = local_date(now)
    evidence = gather(engine, now, journal_days=config.journal_days)
    scores = score_assets(
        evidence.assets,
        config.tables,
        as_of=day,
        signals=evidence.signals,
        config=config.priority,
    )
    with engine.connect() as conn:
        province_of = dict(conn.execute(select(communes.c.code, communes.c.province_code)).all())
    assets: Counter[tuple[str, str, str, str]] = Counter()
    past_life: Counter[Place] = Counter()
    for asset in evidence.assets:
        if not asset.in_service:
            continue
        place = (province_of.get(asset.commune_code, ""), asset.commune_code, asset.kind.value)
        band = age_band(age_years(asset, day))
        assets[(*place, band)] += 1
        if scores[asset.asset_tag].past_life:
            past_life[place] += 1
    candidates: Counter[Place] = Counter()
    cost: Counter[Place] = Counter()
    for asset in plan_candidates(evidence.assets, scores, config.plan):
        place = (province_of.get(asset.commune_code, ""), asset.commune_code, asset.kind.value)
        candidates[place] += 1
        cost[place] += config.prices.price_for(asset, config.tables.class_of(asset)).price_vnd
    return FleetSummary(
        assets=dict(assets),
        past_life=dict(past_life),
        candidates=dict(candidates),
        candidates_cost_vnd=dict(cost),
        computed_at=now.timestamp(),
        seconds=time.perf_counter() - started,
    )


class InventoryCollector(Collector):
    """Serves the cached :class:`FleetSummary`, recomputed when older than ``refresh_seconds``."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        config: InventoryConfig | None = None,
        *,
        journal_days: float | None = None,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._config = config or InventoryConfig()
        if journal_days is not None:
            # The saturation window the ranking reads: the collector's journal retention.
            self._config = replace(self._config, journal_days=journal_days)
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._summary: FleetSummary | None = None
        self._attempted: float | None = None  # clock.monotonic() of the last computation
        self._families: tuple[FleetSummary, list[Metric]] | None = None

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from computing the summary.
        return []

    def summary(self) -> FleetSummary | None:
        """The figures, recomputed first if due; the last good ones if the computation fails."""
        with self._lock:  # concurrent scrapes wait for one computation instead of repeating it
            mono = self._clock.monotonic()
            if self._attempted is None or mono - self._attempted >= self._refresh:
                self._attempted = mono
                try:
                    self._summary = summarise(self._engine, self._config, self._clock)
                except Exception:
                    # A store outage or a bad register line must not take /metrics down: the
                    # last figures stay, their timestamp shows their age; retried when due.
                    log.exception("inventory summary failed; keeping the last figures")
            return self._summary

    def collect(self) -> Iterator[Metric]:
        summary = self.summary()
        if summary is None:
            return
        # Built once per computation: a scrape then only formats them.
        if self._families is None or self._families[0] is not summary:
            self._families = (summary, families(summary))
        yield from self._families[1]


def families(summary: FleetSummary) -> list[Metric]:
    """The gauges of one :class:`FleetSummary`."""
    place = ["province", "commune_code", "kind"]
    out: list[Metric] = []
    for name, help_text, labels, values in (
        (
            "cm_assets",
            "Assets held (in use or broken) by age band in years (Tài sản theo tuổi)",
            [*place, "age_band"],
            summary.assets,
        ),
        (
            "cm_assets_past_life",
            "Assets held past their useful life (Tài sản quá thời gian sử dụng)",
            place,
            summary.past_life,
        ),
        (
            "cm_upgrade_candidates",
            "Assets the upgrade plan chooses from (Tài sản đề xuất thay thế)",
            place,
            summary.candidates,
        ),
        (
            "cm_upgrade_candidates_cost_vnd",
            "Replacement price of every plan candidate, VND (Chi phí thay thế)",
            place,
            summary.candidates_cost_vnd,
        ),
    ):
        family = GaugeMetricFamily(name, help_text, labels=labels)
        for key, value in sorted(values.items()):
            family.add_metric(list(key), float(value))
        out.append(family)
    out.append(
        GaugeMetricFamily(
            "cm_inventory_figures_timestamp_seconds",
            "When the register figures were computed (Unix time)",
            value=summary.computed_at,
        )
    )
    out.append(
        GaugeMetricFamily(
            "cm_inventory_figures_duration_seconds",
            "How long computing the register figures took",
            value=summary.seconds,
        )
    )
    return out
