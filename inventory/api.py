"""HTTP routes of the asset register for finance: import, assets, ranking, plan, exports.

Mounted by ``collector.api.create_app`` under ``/api/v1/inventory``; every route needs the admin
token (the collector's own ``require_admin`` dependency is passed in). Routes parse, call one
function of ``inventory.reports`` or ``inventory.store`` in a worker thread, and map the
inventory's exceptions to 4xx answers: a rejected register is a 422 whose ``issues`` list every
bad cell by sheet, row and column, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from agent.checks.base import Clock
from inventory.errors import (
    AssetNotFound,
    InventoryError,
    PlanError,
    RegisterConflict,
    RegisterFileError,
    RegisterRejected,
)
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.plan import Plan
from inventory.priority import PriorityScore
from inventory.reconcile import Reconciliation
from inventory.reports import (
    ExportError,
    ExportFormat,
    InventoryConfig,
    Report,
    asset_detail,
    budget_plan,
    export_bytes,
    gather,
    plan_export,
    ranking,
    report_sheets,
)
from inventory.store import ImportMode, import_register, list_assets, local_date
from inventory.tables import Lang
from inventory.wear import WearSchedule

PREFIX = "/api/v1/inventory"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
# Budgets up to a million billion đồng; anything larger is a typing slip, not a plan.
MAX_BUDGET_VND = 10**15


class IssueOut(BaseModel):
    """One bad cell of a rejected register."""

    sheet: str
    row: int
    column: str
    code: str
    reason_vi: str
    reason_en: str
    value: str


class InventoryErrorBody(BaseModel):
    """A 4xx answer of the inventory routes: what is wrong, which field, and every bad cell."""

    detail: str
    field: str | None = None
    issues: list[IssueOut] = Field(default_factory=list)


class ImportOut(BaseModel):
    """A stored import."""

    import_id: int
    assets: int
    filename: str
    sha256: str
    mode: ImportMode


class AssetOut(BaseModel):
    """A register line with its derived classification."""

    asset: Asset
    is_fixed_asset: bool


class AssetDetailOut(AssetOut):
    """A register line with its wear schedule and its priority score (while still held)."""

    wear: WearSchedule
    priority: PriorityScore | None
    reasons_vi: list[str]
    reasons_en: list[str]


class RankedOut(BaseModel):
    """One line of the ranking: rank, score with every term, and the main reasons."""

    rank: int
    score: PriorityScore
    reasons: list[str]


class MatchOut(BaseModel):
    """A register line recognised on the network, with the attributes that disagree."""

    asset_tag: str
    commune_code: str
    device_id: str
    matched_by: str
    last_seen: str
    mismatches: list[str]


class SeenOut(BaseModel):
    """Equipment seen on the network that the register does not hold."""

    commune_code: str
    device_id: str
    kind: str
    model: str
    serial: str | None
    last_seen: str


class ReconciliationOut(BaseModel):
    """Matched (with mismatches), missing and unrecorded equipment."""

    matched: list[MatchOut]
    mismatched: int
    missing: list[str]
    unrecorded: list[SeenOut]


class UploadTooLarge(InventoryError):
    """The uploaded file is larger than the collector accepts (``max_body_bytes``)."""


_STATUS: tuple[tuple[type[InventoryError], int, str | None], ...] = (
    (UploadTooLarge, 413, "file"),
    (RegisterRejected, 422, "file"),
    (RegisterFileError, 400, "file"),
    (RegisterConflict, 409, "file"),
    (AssetNotFound, 404, "asset_tag"),
    (PlanError, 422, "budget"),
)


def error_response(exc: InventoryError) -> JSONResponse:
    """The 4xx answer for one of our exceptions."""
    status, field = 400, None
    for cls, code, name in _STATUS:
        if isinstance(exc, cls):
            status, field = code, name
            break
    if isinstance(exc, ExportError):
        status, field = 422, exc.field
    issues = []
    if isinstance(exc, RegisterRejected):
        issues = [
            IssueOut(
                sheet=i.sheet,
                row=i.row,
                column=i.column,
                code=i.code,
                reason_vi=i.reason_vi,
                reason_en=i.reason_en,
                value=i.value,
            )
            for i in exc.issues
        ]
    body = InventoryErrorBody(detail=str(exc), field=field, issues=issues)
    return JSONResponse(body.model_dump(), status_code=status)


class _InventoryRoute(APIRoute):
    """A route that answers our exceptions with 4xx (a router cannot add exception handlers)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except InventoryError as exc:
                return error_response(exc)

        return guarded


def _download(data: bytes, fmt: ExportFormat, stem: str) -> Response:
    media = XLSX_TYPE if fmt is ExportFormat.XLSX else CSV_TYPE
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt.value}"'},
    )


async def _read_upload(file: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(
                f"file: larger than {limit} bytes (tệp lớn hơn {limit} byte); split the register"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _reconciliation_out(result: Reconciliation, lang: Lang) -> ReconciliationOut:
    return ReconciliationOut(
        matched=[
            MatchOut(
                asset_tag=m.asset.asset_tag,
                commune_code=m.asset.commune_code,
                device_id=m.device.device_id,
                matched_by=m.matched_by,
                last_seen=m.device.measured_at.isoformat(),
                mismatches=[x.describe(lang) for x in m.mismatches],
            )
            for m in result.matched
        ],
        mismatched=len(result.mismatched),
        missing=[asset.asset_tag for asset in result.missing],
        unrecorded=[
            SeenOut(
                commune_code=d.commune_code,
                device_id=d.device_id,
                kind=d.kind,
                model=d.model,
                serial=d.serial,
                last_seen=d.measured_at.isoformat(),
            )
            for d in result.unrecorded
        ],
    )


LangQuery = Annotated[Lang, Query(description="Language of headers and reasons: vi or en.")]


def inventory_router(
    engine: Engine,
    clock: Clock,
    require_admin: Callable[..., None],
    *,
    max_upload_bytes: int,
    config: InventoryConfig | None = None,
    journal_days: float | None = None,
) -> APIRouter:
    """The register's routes; ``require_admin`` is the collector's admin-token dependency.
    ``journal_days`` (the collector's journal retention) bounds the saturation read."""
    cfg = config or (
        InventoryConfig() if journal_days is None else InventoryConfig(journal_days=journal_days)
    )
    router = APIRouter(
        prefix=PREFIX,
        tags=["inventory"],
        dependencies=[Depends(require_admin)],
        route_class=_InventoryRoute,
        responses={code: {"model": InventoryErrorBody} for code in (400, 401, 404, 409, 413, 422)},
    )

    @router.post("/register", status_code=201, response_model=ImportOut)
    async def upload_register(
        file: Annotated[UploadFile, File(description="The register, .xlsx or .csv (UTF-8).")],
        mode: Annotated[
            ImportMode,
            Form(description="append (default) adds the file; replace swaps the whole register."),
        ] = ImportMode.APPEND,
    ) -> ImportOut:
        """Import a register all or nothing; a bad row → 422 listing every bad cell."""
        data = await _read_upload(file, max_upload_bytes)
        result = await run_in_threadpool(
            lambda: import_register(
                engine,
                data,
                filename=file.filename or "register",
                now=clock.now(),
                mode=mode,
                tables=cfg.tables,
            )
        )
        return ImportOut(
            import_id=result.import_id,
            assets=result.assets,
            filename=result.filename,
            sha256=result.sha256,
            mode=result.mode,
        )

    @router.get("/assets", response_model=list[AssetOut])
    async def get_assets(
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
        kind: AssetKind | None = None,
        status: AssetStatus | None = None,
    ) -> list[AssetOut]:
        """Register lines, by tag, optionally of one commune, kind or status."""
        assets = await run_in_threadpool(
            lambda: list_assets(
                engine,
                commune_code=commune_code,
                kinds=[kind] if kind else None,
                statuses=[status] if status else None,
            )
        )
        return [AssetOut(asset=a, is_fixed_asset=a.is_fixed_asset) for a in assets]

    @router.get("/assets/{asset_tag}", response_model=AssetDetailOut)
    async def get_asset_detail(asset_tag: str) -> AssetDetailOut:
        """One asset: its register line, wear per fiscal year, priority with every term."""
        detail = await run_in_threadpool(
            lambda: asset_detail(engine, cfg, asset_tag, now=clock.now())
        )
        score = detail.score
        return AssetDetailOut(
            asset=detail.asset,
            is_fixed_asset=detail.asset.is_fixed_asset,
            wear=detail.wear,
            priority=score,
            reasons_vi=score.reasons("vi") if score else [],
            reasons_en=score.reasons("en") if score else [],
        )

    @router.get("/ranking", response_model=list[RankedOut])
    async def get_ranking(
        lang: LangQuery = "vi",
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    ) -> list[RankedOut]:
        """Upgrade priority of the assets still held, highest first, each term explained."""
        scores = await run_in_threadpool(
            lambda: ranking(engine, cfg, now=clock.now(), commune_code=commune_code)
        )
        return [
            RankedOut(rank=rank, score=score, reasons=score.reasons(lang))
            for rank, score in enumerate(scores[:limit], start=1)
        ]

    @router.get(
        "/plan",
        response_model=Plan,
        responses={200: {"content": {XLSX_TYPE: {}, "text/csv": {}}}},
    )
    async def get_plan(
        budget: Annotated[
            int,
            Query(ge=0, le=MAX_BUDGET_VND, description="Budget in whole VND, e.g. 500000000."),
        ],
        min_score: Annotated[
            float | None, Query(ge=0, le=100, description="Score threshold (default 30).")
        ] = None,
        format: Annotated[
            ExportFormat | None,
            Query(description="Omit for JSON; xlsx (or csv: the lines) to download."),
        ] = None,
        lang: LangQuery = "vi",
    ) -> Response | Plan:
        """The replacements that maximise total priority within the budget, coverage first."""
        now = clock.now()
        plan = await run_in_threadpool(
            lambda: budget_plan(engine, cfg, budget, now=now, min_score=min_score)
        )
        if format is None:
            return plan
        data = await run_in_threadpool(plan_export, plan, format, lang=lang)
        return _download(data, format, f"ke-hoach-thay-the-{plan.as_of.isoformat()}")

    @router.get("/reconciliation", response_model=ReconciliationOut)
    async def get_reconciliation(
        lang: LangQuery = "vi",
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    ) -> ReconciliationOut:
        """Register vs network: matched, mismatched, missing, unrecorded."""
        evidence = await run_in_threadpool(gather, engine, clock.now(), commune_code)
        return _reconciliation_out(evidence.reconciliation, lang)

    @router.get(
        "/export/{report}",
        response_class=Response,
        responses={200: {"content": {XLSX_TYPE: {}, "text/csv": {}}}},
    )
    async def export_report(
        report: Report,
        format: Annotated[
            ExportFormat, Query(description="xlsx (default) or csv (one-sheet reports).")
        ] = ExportFormat.XLSX,
        lang: LangQuery = "vi",
    ) -> Response:
        """Download the register, wear, ranking or reconciliation as XLSX or CSV."""
        now = clock.now()
        sheets = await run_in_threadpool(
            lambda: report_sheets(engine, cfg, report, now=now, lang=lang)
        )
        data = await run_in_threadpool(export_bytes, sheets, format, lang=lang)
        day: date = local_date(now)
        return _download(data, format, f"{report.value}-{day.isoformat()}")

    return router
