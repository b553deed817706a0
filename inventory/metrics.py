"""Asset-register and upgrade-plan figures on /metrics, for the ageing-fleet dashboard.

The register lives in the state store, not in the time-series database; these few gauges bring
a summary of it to both history paths (Prometheus scraping /metrics, or VictoriaMetrics scraping
it beside the sink: docs/history.md). Computing them reads the register, the device state and the
daily rollups, and scores and plans the whole register (about a second at province scale, see
benchmarks/upgrade_plan.py; it was 9–37 s when saturation came from the journal). So a scrape
never computes them (issue 22: Prometheus gives up after 10 s and every metric of the province
would get a gap): a timer of the service (:meth:`InventoryCollector.running`) recomputes them
every ``refresh_seconds``, and a scrape serves the last result.

Where the service runs it, the computation runs in a worker process (``isolated``), not a thread:
scoring 5,000 assets is pure Python holding the GIL, and a scrape overlapping it in the same
process took twice as long (0.45 → 1.0 s measured); in its own process it only competes for a
core. The worker is spawned on the first pass and recycled every :data:`_PASSES_PER_WORKER`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import NullPool

from agent.clock import Clock
from agent.vntime import local_date
from collector.schema import communes
from inventory.plan import plan_candidates
from inventory.priority import age_years, score_assets
from inventory.reports import InventoryConfig, evidence_of
from inventory.timers import periodic

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
# An hour of passes at the default period, then a fresh worker: its heap goes back to the system.
_PASSES_PER_WORKER = 12

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


def summarise(engine: Engine, config: InventoryConfig, now: datetime) -> FleetSummary:
    """Count the held assets by age band, those past their life and the plan's candidates."""
    started = time.perf_counter()
    day = local_date(now)
    evidence = evidence_of(engine, config, now)
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


def _summarise_in_worker(url: str, config: InventoryConfig, now: datetime) -> FleetSummary:
    """:func:`summarise` in the worker process, on its own engine for the store at ``url``."""
    # Read only, one pass every few minutes: no pool to keep, and SQLite's WAL lets it read
    # while the collector writes (the timeout covers a checkpoint).
    connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        return summarise(engine, config, now)
    finally:
        engine.dispose()


def _shareable_url(engine: Engine) -> str | None:
    """The URL another process opens the same store with; None for an in-memory SQLite."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return None
    return engine.url.render_as_string(hide_password=False)


class InventoryCollector(Collector):
    """Serves the last :class:`FleetSummary`; :meth:`running` recomputes it in the background
    every ``refresh_seconds`` from the first scrape on (a process nobody scrapes, such as
    ``commune-monitor process``, never computes them). A scrape never computes: before the first
    computation ends, the families are absent. ``isolated``: compute in a worker process (the
    service's choice, see the module's docstring) rather than in the calling thread; a store in
    memory is always computed in the thread. :meth:`close` stops the worker."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        config: InventoryConfig | None = None,
        *,
        journal_days: float | None = None,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        isolated: bool = False,
    ) -> None:
        self._engine = engine
        self._url = _shareable_url(engine) if isolated else None
        self._worker: ProcessPoolExecutor | None = None
        self._clock = clock
        self._config = config or InventoryConfig()
        if journal_days is not None:
            # The fallback saturation window (no rollups yet): the collector's journal retention.
            self._config = replace(self._config, journal_days=journal_days)
        self.refresh_seconds = refresh_seconds
        self._computing = threading.Lock()
        # Built once per computation, swapped in whole: a scrape only formats them.
        self._families: tuple[FleetSummary, list[Metric]] | None = None
        self.refreshed = asyncio.Event()  # set after each computation of running()
        self._scraped = False
        self._on_first_scrape: Callable[[], None] | None = None

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from looking at the figures.
        return []

    def summary(self) -> FleetSummary | None:
        """The last figures computed, if any."""
        current = self._families
        return current[0] if current is not None else None

    def refresh(self) -> FleetSummary | None:
        """Compute the figures now; if that fails, keep the last ones (their timestamp shows
        their age) and return them."""
        with self._computing:  # one computation at a time, whoever asks
            try:
                summary = self._compute(self._clock.now())
            except Exception:
                # A store outage or a bad register line must not take /metrics down: the last
                # figures stay, retried at the next refresh.
                log.exception("inventory summary failed; keeping the last figures")
                return self.summary()
            self._families = (summary, families(summary))
            return summary

    def _compute(self, now: datetime) -> FleetSummary:
        if self._url is None:
            return summarise(self._engine, self._config, now)
        if self._worker is None:
            # spawn: the collector runs threads (the store's pool, the processor), which a fork
            # would copy mid-lock.
            self._worker = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=_PASSES_PER_WORKER,
            )
        try:
            # This thread waits without the GIL: the scrapes of this process run meanwhile.
            return self._worker.submit(_summarise_in_worker, self._url, self._config, now).result()
        except BrokenProcessPool:
            # The worker died (killed for memory?): a new one at the next pass.
            self.close()
            raise

    def close(self) -> None:
        """Stop the worker process, if one runs (the next pass starts another)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True, cancel_futures=True)

    def collect(self) -> Iterator[Metric]:
        if not self._scraped:
            self._scraped = True
            if self._on_first_scrape is not None:
                self._on_first_scrape()
        current = self._families
        if current is not None:
            yield from current[1]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[InventoryCollector]:
        """Compute the figures from the first scrape on (at once if one came already), then
        every ``refresh_seconds``, for the block."""
        self.refreshed = asyncio.Event()
        scraped = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            # Scrapes run in worker threads: the event is set on the loop's own thread.
            loop.call_soon_threadsafe(scraped.set)

        self._on_first_scrape = wake
        if self._scraped:
            scraped.set()
        try:
            async with periodic(
                "inventory-figures",
                self.refresh_seconds,
                self.refresh,
                self.refreshed.set,
                start=scraped,
            ):
                yield self
        finally:
            self._on_first_scrape = None
            # After the timer: it waited for its pass in progress, so the worker is idle.
            await asyncio.to_thread(self.close)


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
