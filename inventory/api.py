"""HTTP routes of the asset register for finance: import, assets, ranking, plan, exports.

Mounted by ``province.app.create_app`` under ``/api/v1/inventory``; every route needs the admin
token (the collector's own ``require_admin`` dependency is passed in). Routes parse, call one
function of ``inventory.reports`` or ``inventory.store`` in a worker thread, and map the
inventory's exceptions to 4xx answers: a rejected register is a 422 whose ``issues`` list every
bad cell by sheet, row and column, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from agent.clock import Clock
from agent.vntime import local_date
from inventory.errors import (
    AssetNotFound,
    InventoryError,
    PlanError,
    RegisterConflict,
    RegisterFileError,
    RegisterRejected,
    RegisterTooLarge,
)
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.money import Budget
from inventory.os_support import OsPlan
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
    unsupported_os_plan,
)
from inventory.store import ImportMode, import_register, list_assets
from inventory.tables import Lang
from inventory.wear import WearSchedule

PREFIX = "/api/v1/inventory"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


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
    """A 4xx answer of the inventory routes: what is wrong, which field, and every bad cell.

    A file beyond an import bound (413) also names the bound and its value.
    """

    detail: str
    field: str | None = None
    issues: list[IssueOut] = Field(default_factory=list)
    bound: str | None = Field(default=None, description="The import bound exceeded, if any.")
    limit: int | None = Field(default=None, description="That bound's value.")


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


class UploadTooLarge(RegisterTooLarge):
    """The uploaded file is larger than the collector accepts (``max_body_bytes``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "max_body_bytes",
            limit,
            reason_en=f"the upload is larger than {limit:,} bytes; split the register",
            reason_vi=f"tệp lớn hơn {limit} byte; hãy chia sổ tài sản",
        )


_STATUS: tuple[tuple[type[InventoryError], int, str | None], ...] = (
    (RegisterTooLarge, 413, "file"),
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
    if isinstance(exc, RegisterTooLarge):
        body.bound, body.limit = exc.bound, exc.limit
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
            raise UploadTooLarge(limit)
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


@dataclass(frozen=True)
class _Inventory:
    """What every route of one router works on."""

    engine: Engine
    clock: Clock
    config: InventoryConfig
    max_upload_bytes: int


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
    inventory = _Inventory(engine, clock, cfg, max_upload_bytes)
    for add_route in (
        _add_upload,
        _add_assets,
        _add_asset_detail,
        _add_ranking,
        _add_plan,
        _add_unsupported_os,
        _add_reconciliation,
        _add_export,
    ):
        add_route(router, inventory)
    return router


def _add_upload(router: APIRouter, inv: _Inventory) -> None:
    @router.post("/register", status_code=201, response_model=ImportOut)
    async def upload_register(
        file: Annotated[UploadFile, File(description="The register, .xlsx or .csv (UTF-8).")],
        mode: Annotated[
            ImportMode,
            Form(description="append (default) adds the file; replace swaps the whole register."),
        ] = ImportMode.APPEND,
    ) -> ImportOut:
        """Import a register all or nothing; a bad row → 422 listing every bad cell."""
        data = await _read_upload(file, inv.max_upload_bytes)
        result = await run_in_threadpool(
            lambda: import_register(
                inv.engine,
                data,
                filename=file.filename or "register",
                now=inv.clock.now(),
                mode=mode,
                tables=inv.config.tables,
                actor="admin",  # the register API takes the admin token only
            )
        )
        return ImportOut(
            import_id=result.import_id,
            assets=result.assets,
            filename=result.filename,
            sha256=result.sha256,
            mode=result.mode,
        )


def _add_assets(router: APIRouter, inv: _Inventory) -> None:
    @router.get("/assets", response_model=list[AssetOut])
    async def get_assets(
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
        kind: AssetKind | None = None,
        status: AssetStatus | None = None,
    ) -> list[AssetOut]:
        """Register lines, by tag, optionally of one commune, kind or status."""
        assets = await run_in_threadpool(
            lambda: list_assets(
                inv.engine,
                commune_code=commune_code,
                kinds=[kind] if kind else None,
                statuses=[status] if status else None,
            )
        )
        return [AssetOut(asset=a, is_fixed_asset=a.is_fixed_asset) for a in assets]


def _add_asset_detail(router: APIRouter, inv: _Inventory) -> None:
    @router.get("/assets/{asset_tag}", response_model=AssetDetailOut)
    async def get_asset_detail(asset_tag: str) -> AssetDetailOut:
        """One asset: its register line, wear per fiscal year, priority with every term."""
        detail = await run_in_threadpool(
            lambda: asset_detail(inv.engine, inv.config, asset_tag, now=inv.clock.now())
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


def _add_ranking(router: APIRouter, inv: _Inventory) -> None:
    @router.get("/ranking", response_model=list[RankedOut])
    async def get_ranking(
        lang: LangQuery = "vi",
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    ) -> list[RankedOut]:
        """Upgrade priority of the assets still held, highest first, each term explained."""
        scores = await run_in_threadpool(
            lambda: ranking(inv.engine, inv.config, now=inv.clock.now(), commune_code=commune_code)
        )
        return [
            RankedOut(rank=rank, score=score, reasons=score.reasons(lang))
            for rank, score in enumerate(scores[:limit], start=1)
        ]


def _add_plan(router: APIRouter, inv: _Inventory) -> None:
    @router.get(
        "/plan",
        response_model=Plan,
        responses={200: {"content": {XLSX_TYPE: {}, "text/csv": {}}}},
    )
    async def get_plan(
        # Bounds from inventory.money, the one home of VND (1 đ to 10^15 đ).
        budget: Annotated[Budget, Query(description="Budget in whole VND, e.g. 500000000.")],
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
        now = inv.clock.now()
        plan = await run_in_threadpool(
            lambda: budget_plan(inv.engine, inv.config, budget, now=now, min_score=min_score)
        )
        if format is None:
            return plan
        data = await run_in_threadpool(plan_export, plan, format, lang=lang)
        return _download(data, format, f"ke-hoach-thay-the-{plan.as_of.isoformat()}")


def _add_unsupported_os(router: APIRouter, inv: _Inventory) -> None:
    @router.get("/unsupported-os", response_model=OsPlan)
    async def get_unsupported_os(
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    ) -> OsPlan:
        """PCs whose operating system is out of support: how many, and the cost of updating,
        upgrading or replacing them (issue 23), each PC with its action and reason."""
        return await run_in_threadpool(
            lambda: unsupported_os_plan(
                inv.engine, inv.config, now=inv.clock.now(), commune_code=commune_code
            )
        )


def _add_reconciliation(router: APIRouter, inv: _Inventory) -> None:
    @router.get("/reconciliation", response_model=ReconciliationOut)
    async def get_reconciliation(
        lang: LangQuery = "vi",
        commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    ) -> ReconciliationOut:
        """Register vs network: matched, mismatched, missing, unrecorded."""
        evidence = await run_in_threadpool(gather, inv.engine, inv.clock.now(), commune_code)
        return _reconciliation_out(evidence.reconciliation, lang)


def _add_export(router: APIRouter, inv: _Inventory) -> None:
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
        now = inv.clock.now()
        sheets = await run_in_threadpool(
            lambda: report_sheets(inv.engine, inv.config, report, now=now, lang=lang)
        )
        data = await run_in_threadpool(export_bytes, sheets, format, lang=lang)
        day: date = local_date(now)
        return _download(data, format, f"{report.value}-{day.isoformat()}")
