"""What the API and the CLI ask for: ranking, plan, asset detail and exports, from the store.

Each function reads the stored register (and the device state, for reconciliation, and its events,
incidents and journal for measured failures and saturation), then calls the pure core (``wear``,
``priority``, ``plan``). The data tables (lives, prices, weights) are loaded once into an
``InventoryConfig`` and passed in, so tests and provinces can use their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Engine

from inventory.errors import InventoryError
from inventory.lives import LifeTables, load_life_tables
from inventory.models import Asset
from inventory.plan import Plan, PlanSettings, build_plan, plan_sheets
from inventory.prices import PriceTable, load_price_table
from inventory.priority import (
    AssetSignals,
    PriorityConfig,
    PriorityScore,
    load_priority_config,
    priority_sheet,
    score_asset,
    score_assets,
)
from inventory.reconcile import Reconciliation, reconcile, reconciliation_sheets, seen_devices
from inventory.register_io import register_sheet
from inventory.signals import DEFAULT_JOURNAL_DAYS, measured_signals
from inventory.store import commune_names, get_asset, list_assets, local_date
from inventory.tables import Lang, Sheet, to_csv, to_xlsx
from inventory.wear import WearSchedule, wear_schedule, wear_sheet


@dataclass(frozen=True)
class InventoryConfig:
    """The data tables every report uses: lives and rates, prices, weights, plan rules."""

    tables: LifeTables = field(default_factory=load_life_tables)
    prices: PriceTable = field(default_factory=load_price_table)
    priority: PriorityConfig = field(default_factory=load_priority_config)
    plan: PlanSettings = field(default_factory=PlanSettings)
    # How far back saturation is read from the journal: the collector's journal_retention_days.
    journal_days: float = DEFAULT_JOURNAL_DAYS


class Report(StrEnum):
    """Reports that can be exported."""

    REGISTER = "register"
    WEAR = "wear"
    RANKING = "ranking"
    RECONCILIATION = "reconciliation"


class ExportFormat(StrEnum):
    """File formats of an export."""

    XLSX = "xlsx"
    CSV = "csv"


class ExportError(InventoryError):
    """An export cannot be written in the asked format; ``field`` names the parameter."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Evidence:
    """The register, what was seen on the network, and the measured signals derived from it."""

    assets: list[Asset]
    reconciliation: Reconciliation
    signals: dict[str, AssetSignals]


def gather(
    engine: Engine,
    now: datetime,
    commune_code: str | None = None,
    journal_days: float = DEFAULT_JOURNAL_DAYS,
) -> Evidence:
    """Read the register, the device state and its journal once for a report."""
    assets = list_assets(engine, commune_code=commune_code)
    result = reconcile(assets, seen_devices(engine, commune_code))
    return Evidence(assets, result, measured_signals(engine, result.matched, now, journal_days))


def ranking(
    engine: Engine,
    config: InventoryConfig,
    *,
    now: datetime,
    as_of: date | None = None,
    commune_code: str | None = None,
) -> list[PriorityScore]:
    """Priority scores of the assets still held, highest first (ties by tag)."""
    evidence = gather(engine, now, commune_code, config.journal_days)
    scores = score_assets(
        evidence.assets,
        config.tables,
        as_of=as_of or local_date(now),
        signals=evidence.signals,
        config=config.priority,
    )
    return sorted(scores.values(), key=lambda score: (-score.points, score.asset_tag))


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
    evidence = gather(engine, now, journal_days=config.journal_days)
    scores = score_assets(
        evidence.assets, config.tables, as_of=day, signals=evidence.signals, config=config.priority
    )
    settings = config.plan
    if min_score is not None:
        settings = settings.model_copy(update={"min_score": min_score})
    return build_plan(
        evidence.assets,
        scores,
        config.prices,
        budget,
        tables=config.tables,
        as_of=day,
        settings=settings,
        commune_names=commune_names(engine),
    )


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
    evidence = gather(engine, now, asset.commune_code, config.journal_days)
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
    evidence = gather(engine, now, journal_days=config.journal_days)
    return reconciliation_sheets(evidence.reconciliation, lang=lang)


def export_bytes(sheets: list[Sheet], fmt: ExportFormat, *, lang: Lang = "vi") -> bytes:
    """Sheets as an XLSX workbook, or one sheet as CSV (several sheets need XLSX)."""
    if fmt is ExportFormat.XLSX:
        return to_xlsx(sheets, lang=lang)
    if len(sheets) != 1:
        raise ExportError(
            f"this report has {len(sheets)} sheets; CSV holds one, use xlsx "
            f"(báo cáo có {len(sheets)} trang, CSV chỉ chứa một: hãy dùng xlsx)",
            field="format",
        )
    return to_csv(sheets[0], lang=lang)


def plan_export(plan: Plan, fmt: ExportFormat, *, lang: Lang = "vi") -> bytes:
    """The plan as an XLSX workbook (lines, communes, province, coverage) or its lines as CSV."""
    sheets = plan_sheets(plan, lang=lang)
    if fmt is ExportFormat.XLSX:
        return to_xlsx(sheets, lang=lang)
    return to_csv(sheets[0], lang=lang)
