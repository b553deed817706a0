"""What the API and the CLI ask for: ranking, plan, asset detail and exports, from the store.

Each function reads the stored register (and the device state, for reconciliation, and the daily
rollups and incidents for measured failures and saturation; the journal when no rollup exists
yet), then calls the pure core (``wear``, ``priority``, ``plan``). The data tables (lives,
prices, weights) are loaded once into an ``InventoryConfig`` and passed in, so tests and
provinces can use their own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Engine

from agent.vntime import local_date
from inventory.exports import (
    ExportError,
    ExportFormat,
    export_bytes,
    plan_export,
    priority_sheet,
    reconciliation_sheets,
    wear_sheet,
)
from inventory.lives import LifeTables, load_life_tables
from inventory.measurements import Measurements, SignalSource
from inventory.models import Asset, AssetKind
from inventory.os_support import OsPlan, OsSupportTable, SeenPc, load_os_support, os_plan
from inventory.plan import Plan, PlanSettings, build_plan
from inventory.prices import PriceTable, load_price_table
from inventory.priority import AssetSignals, PriorityScore, age_years, score_asset, score_assets
from inventory.priority_config import PriorityConfig, load_priority_config
from inventory.reconcile import Match, Reconciliation, reconcile, seen_devices
from inventory.register_writer import register_sheet
from inventory.rollup_reader import rollup_signals
from inventory.signals import DEFAULT_JOURNAL_DAYS, add_os_status, measured_signals
from inventory.store import commune_names, get_asset, list_assets
from inventory.tables import Lang, Sheet
from inventory.wear import WearSchedule, wear_schedule

log = logging.getLogger(__name__)

# A month of daily rollups: long enough for month-end and Monday peaks, short enough to show the
# machine as it is now (a PC given more memory stops looking full within a month).
DEFAULT_SATURATION_DAYS = 30.0

# Re-exported: the API, the CLI and the console ask this module for exports too.
__all__ = [
    "AssetDetail",
    "Evidence",
    "ExportError",
    "ExportFormat",
    "InventoryConfig",
    "Measurements",
    "Ranking",
    "Report",
    "asset_detail",
    "budget_plan",
    "evidence_of",
    "export_bytes",
    "gather",
    "plan_export",
    "ranked",
    "ranking",
    "report_sheets",
    "unsupported_os_plan",
]


@dataclass(frozen=True)
class InventoryConfig:
    """The data tables every report uses: lives and rates, prices, weights, plan rules."""

    tables: LifeTables = field(default_factory=load_life_tables)
    prices: PriceTable = field(default_factory=load_price_table)
    priority: PriorityConfig = field(default_factory=load_priority_config)
    plan: PlanSettings = field(default_factory=PlanSettings)
    # How far back saturation is read from the journal when the store holds no rollups yet: the
    # collector's journal_retention_days.
    journal_days: float = DEFAULT_JOURNAL_DAYS
    # Days of daily rollups the saturation p95 covers (the rollups keep a year).
    saturation_days: float = DEFAULT_SATURATION_DAYS
    # End of support of the PCs' operating systems (issue 23).
    os_support: OsSupportTable = field(default_factory=load_os_support)


class Report(StrEnum):
    """Reports that can be exported."""

    REGISTER = "register"
    WEAR = "wear"
    RANKING = "ranking"
    RECONCILIATION = "reconciliation"


@dataclass(frozen=True)
class Evidence:
    """The register, what was seen on the network, and the measured signals derived from it."""

    assets: list[Asset]
    reconciliation: Reconciliation
    signals: dict[str, AssetSignals]
    measurements: Measurements | None = None


def gather(
    engine: Engine,
    now: datetime,
    commune_code: str | None = None,
    journal_days: float = DEFAULT_JOURNAL_DAYS,
    os_support: OsSupportTable | None = None,
    *,
    saturation_days: float = DEFAULT_SATURATION_DAYS,
) -> Evidence:
    """Read the register, the device state and the measured signals once for a report."""
    assets = list_assets(engine, commune_code=commune_code)
    result = reconcile(assets, seen_devices(engine, commune_code))
    signals, measurements = _measured(
        engine, result.matched, now, commune_code, journal_days, saturation_days, os_support
    )
    return Evidence(assets, result, signals, measurements)


def _measured(
    engine: Engine,
    matched: Sequence[Match],
    now: datetime,
    commune_code: str | None,
    journal_days: float,
    saturation_days: float,
    os_support: OsSupportTable | None,
) -> tuple[dict[str, AssetSignals], Measurements]:
    """The signals from the daily rollups; from the journal while the store holds none."""
    rolled = rollup_signals(
        engine, matched, now, saturation_days=saturation_days, commune_code=commune_code
    )
    if rolled is None:
        log.warning(
            "no daily rollups in the store: saturation scanned from the journal (slow); "
            "run 'commune-monitor inventory rollups rebuild'",
            extra={"journal_days": journal_days},
        )
        signals = measured_signals(engine, matched, now, journal_days, os_support)
        return signals, Measurements(source=SignalSource.JOURNAL, saturation_days=journal_days)
    if os_support is not None:
        add_os_status(rolled.signals, matched, os_support)
    return rolled.signals, Measurements(
        source=SignalSource.ROLLUPS, saturation_days=saturation_days, since=rolled.since
    )


def evidence_of(
    engine: Engine, config: InventoryConfig, now: datetime, commune_code: str | None = None
) -> Evidence:
    """:func:`gather` with the windows and OS table of ``config``."""
    return gather(
        engine,
        now,
        commune_code,
        config.journal_days,
        config.os_support,
        saturation_days=config.saturation_days,
    )


@dataclass(frozen=True)
class Ranking:
    """Priority scores, highest first, and where their measured signals came from."""

    scores: list[PriorityScore]
    measurements: Measurements | None


def ranked(
    engine: Engine,
    config: InventoryConfig,
    *,
    now: datetime,
    as_of: date | None = None,
    commune_code: str | None = None,
) -> Ranking:
    """:func:`ranking` with the source of its measurements, for outputs that say it."""
    evidence = evidence_of(engine, config, now, commune_code)
    scores = score_assets(
        evidence.assets,
        config.tables,
        as_of=as_of or local_date(now),
        signals=evidence.signals,
        config=config.priority,
    )
    ordered = sorted(scores.values(), key=lambda score: (-score.points, score.asset_tag))
    return Ranking(ordered, evidence.measurements)


def ranking(
    engine: Engine,
    config: InventoryConfig,
    *,
    now: datetime,
    as_of: date | None = None,
    commune_code: str | None = None,
) -> list[PriorityScore]:
    """Priority scores of the assets still held, highest first (ties by tag)."""
    return ranked(engine, config, now=now, as_of=as_of, commune_code=commune_code).scores


def budget_plan(
    engine: Engine,
    config: InventoryConfig,
    budget: int,
    *,
    now: datetime,
    as_of: date | None = None,
    min_score: float | None = None,
) -> Plan:
    """The replacements that maximise total priority within ``budget`` VND (coverage first)."""
    day = as_of or local_date(now)
    evidence = evidence_of(engine, config, now)
    scores = score_assets(
        evidence.assets, config.tables, as_of=day, signals=evidence.signals, config=config.priority
    )
    settings = config.plan
    if min_score is not None:
        settings = settings.model_copy(update={"min_score": min_score})
    plan = build_plan(
        evidence.assets,
        scores,
        config.prices,
        budget,
        tables=config.tables,
        as_of=day,
        settings=settings,
        commune_names=commune_names(engine),
    )
    return plan.model_copy(update={"measurements": evidence.measurements})


@dataclass(frozen=True)
class AssetDetail:
    """One asset with its wear schedule and, while held, its priority score."""

    asset: Asset
    wear: WearSchedule
    score: PriorityScore | None


def asset_detail(
    engine: Engine, config: InventoryConfig, asset_tag: str, *, now: datetime
) -> AssetDetail:
    """The register line, its wear per fiscal year and its priority with every term."""
    asset = get_asset(engine, asset_tag)
    day = local_date(now)
    evidence = evidence_of(engine, config, now, asset.commune_code)
    wear = wear_schedule(asset, config.tables, as_of=day)
    score = None
    if asset.in_service:
        score = score_asset(
            asset,
            config.tables,
            as_of=day,
            signals=evidence.signals.get(asset.asset_tag),
            config=config.priority,
        )
    return AssetDetail(asset, wear, score)


def report_sheets(
    engine: Engine, config: InventoryConfig, report: Report, *, now: datetime, lang: Lang = "vi"
) -> list[Sheet]:
    """The sheets of one report, as exported."""
    day = local_date(now)
    if report is Report.REGISTER:
        return [register_sheet(list_assets(engine), lang=lang)]
    if report is Report.WEAR:
        schedules = [
            wear_schedule(asset, config.tables, as_of=day) for asset in list_assets(engine)
        ]
        return [wear_sheet(schedules, lang=lang)]
    if report is Report.RANKING:
        return [priority_sheet(ranking(engine, config, now=now), lang=lang)]
    # Matching only: no measured signals to read.
    result = reconcile(list_assets(engine), seen_devices(engine))
    return reconciliation_sheets(result, lang=lang)


def unsupported_os_plan(
    engine: Engine,
    config: InventoryConfig,
    *,
    now: datetime,
    as_of: date | None = None,
    commune_code: str | None = None,
) -> OsPlan:
    """For finance: the PCs (and kiosks) whose operating system is out of support, what making
    each supported takes (update, upgrade, a new PC) and its cost. A PC in the register past
    its useful life is replaced; its register class prices it."""
    day = as_of or local_date(now)
    devices = [
        device
        for device in seen_devices(engine, commune_code)
        if device.kind in (AssetKind.PC.value, AssetKind.KIOSK.value)
    ]
    result = reconcile(list_assets(engine, commune_code=commune_code), devices)
    registered = {(m.device.commune_code, m.device.device_id): m.asset for m in result.matched}
    pcs = []
    for device in devices:
        asset = registered.get((device.commune_code, device.device_id))
        past_life = price = None
        if asset is not None:
            life = config.tables.rate(day.year, config.tables.class_of(asset)).life_years
            past_life = age_years(asset, day) >= life
            price = config.prices.price_for(asset).price_vnd
        else:
            price = config.prices.kinds[AssetKind(device.kind)].price_vnd
        pcs.append(
            SeenPc(
                device.commune_code,
                device.device_id,
                device.facts,
                asset.asset_tag if asset is not None else None,
                bool(past_life),
                price,
            )
        )
    pc_price = config.prices.kinds[AssetKind.PC].price_vnd
    return os_plan(pcs, config.os_support, as_of=day, pc_price=pc_price)
