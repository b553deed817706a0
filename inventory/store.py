"""The asset register in the state store: import a file all or nothing, list and read assets.

An import parses and validates the whole file first (``register_reader.read_register``, within
the import bounds; it reports every bad row with its sheet, row and column) and only then writes,
in one transaction: the import log row and every asset, or nothing. Duplicates against what is
already stored are found by the parser (it is given the stored tags and serials); a concurrent
import that slips in between is caught by the unique constraints and rolls the whole transaction
back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from agent.vntime import local_date
from collector import audit
from collector.schema import communes
from inventory.errors import AssetNotFound, RegisterConflict
from inventory.lives import LifeTables
from inventory.models import Asset, AssetKind, AssetStatus, Revaluation
from inventory.register_limits import RegisterBounds
from inventory.register_reader import read_register
from inventory.schema import inventory_assets, inventory_imports


class ImportMode(StrEnum):
    """``append`` adds the file to the register; ``replace`` swaps the whole register for it."""

    APPEND = "append"
    REPLACE = "replace"


@dataclass(frozen=True)
class ImportResult:
    """What one stored import was: its log id, how many assets, and the file's identity."""

    import_id: int
    assets: int
    filename: str
    sha256: str
    mode: ImportMode
    imported_at: datetime


def valid_commune_codes(conn: Connection) -> frozenset[str]:
    """Every commune code the store knows (``commune-monitor communes load``)."""
    return frozenset(conn.execute(select(communes.c.code)).scalars())


def commune_names(engine: Engine) -> dict[str, str]:
    """Commune code → name, to label reports."""
    with engine.connect() as conn:
        rows = conn.execute(select(communes.c.code, communes.c.name))
        return {row.code: row.name for row in rows}


def _asset_row(asset: Asset, import_id: int) -> dict[str, Any]:
    revaluation = asset.revaluation
    return {
        "asset_tag": asset.asset_tag,
        "kind": asset.kind.value,
        "brand": asset.brand,
        "model": asset.model,
        "serial": asset.serial,
        "commune_code": asset.commune_code,
        "room": asset.room,
        "put_into_use": asset.put_into_use,
        "original_cost": asset.original_cost,
        "revaluation_year": revaluation.year if revaluation else None,
        "revalued_cost": revaluation.cost if revaluation else None,
        "revalued_remaining_value": revaluation.remaining_value if revaluation else None,
        "revalued_remaining_life": revaluation.remaining_life_years if revaluation else None,
        "funding_source": asset.funding_source,
        "warranty_end": asset.warranty_end,
        "status": asset.status.value,
        "status_since": asset.status_since,
        "previous_owner": asset.previous_owner,
        "asset_class": asset.asset_class,
        "years_used_before_purchase": asset.years_used_before_purchase,
        "import_id": import_id,
    }


def _asset(row: Row[Any]) -> Asset:
    revaluation = None
    if row.revaluation_year is not None and row.revalued_cost is not None:
        revaluation = Revaluation(
            year=row.revaluation_year,
            cost=row.revalued_cost,
            remaining_value=row.revalued_remaining_value,
            remaining_life_years=row.revalued_remaining_life,
        )
    return Asset(
        asset_tag=row.asset_tag,
        kind=AssetKind(row.kind),
        brand=row.brand,
        model=row.model,
        serial=row.serial,
        commune_code=row.commune_code,
        room=row.room,
        put_into_use=row.put_into_use,
        original_cost=row.original_cost,
        revaluation=revaluation,
        funding_source=row.funding_source,
        warranty_end=row.warranty_end,
        status=AssetStatus(row.status),
        status_since=row.status_since,
        previous_owner=row.previous_owner,
        asset_class=row.asset_class,
        years_used_before_purchase=row.years_used_before_purchase,
    )


def import_register(
    engine: Engine,
    data: bytes,
    *,
    filename: str,
    now: datetime,
    mode: ImportMode = ImportMode.APPEND,
    tables: LifeTables | None = None,
    bounds: RegisterBounds | None = None,
    actor: str = "system",
) -> ImportResult:
    """Store every asset of a CSV/XLSX register, or nothing; ``actor`` goes to the audit log.

    Raises ``RegisterFileError`` when the file cannot be read (``RegisterTooLarge`` when it breaks
    one of ``bounds``, default ``RegisterBounds()``), ``RegisterRejected`` (every bad row: sheet,
    row, column, reason) when any row is bad, ``RegisterConflict`` when a concurrent import stored
    the same tag or serial first. In every one of these cases the store is unchanged.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    with engine.connect() as conn:
        valid = valid_commune_codes(conn)
        if mode is ImportMode.APPEND:
            known = conn.execute(select(inventory_assets.c.asset_tag, inventory_assets.c.serial))
            pairs = list(known)
            tags = [tag for tag, _ in pairs]
            serials = [serial for _, serial in pairs if serial]
        else:
            tags, serials = [], []
    assets = read_register(
        data,
        filename=filename,
        valid_communes=valid,
        as_of=local_date(now),
        existing_tags=tags,
        existing_serials=serials,
        tables=tables,
        bounds=bounds,
    )
    digest = hashlib.sha256(data).hexdigest()
    try:
        with engine.begin() as conn:
            if mode is ImportMode.REPLACE:
                conn.execute(delete(inventory_assets))
            import_id = conn.execute(
                insert(inventory_imports).returning(inventory_imports.c.id),
                {
                    "filename": filename[:255],
                    "sha256": digest,
                    "imported_at": now,
                    "assets": len(assets),
                    "mode": mode.value,
                },
            ).scalar_one()
            if assets:
                conn.execute(insert(inventory_assets), [_asset_row(a, import_id) for a in assets])
            audit.record(
                conn,
                now,
                actor,
                "register_imported",
                f"import:{import_id}",
                f"{filename[:120]} mode={mode.value} assets={len(assets)} sha256={digest[:16]}",
            )
    except IntegrityError as exc:
        raise RegisterConflict(
            "another import stored one of these asset tags or serials at the same time; "
            "nothing was imported, try again (một lần nhập khác vừa lưu trùng mã tài sản hoặc "
            "số serial; chưa nhập gì, hãy thử lại)"
        ) from exc
    return ImportResult(import_id, len(assets), filename, digest, mode, now.astimezone(UTC))


def list_assets(
    engine: Engine,
    *,
    commune_code: str | None = None,
    kinds: Iterable[AssetKind] | None = None,
    statuses: Iterable[AssetStatus] | None = None,
) -> list[Asset]:
    """Assets of the register ordered by tag, optionally of one commune, some kinds, statuses."""
    query = select(inventory_assets).order_by(inventory_assets.c.asset_tag)
    if commune_code is not None:
        query = query.where(inventory_assets.c.commune_code == commune_code)
    if kinds is not None:
        query = query.where(inventory_assets.c.kind.in_([kind.value for kind in kinds]))
    if statuses is not None:
        query = query.where(inventory_assets.c.status.in_([status.value for status in statuses]))
    with engine.connect() as conn:
        return [_asset(row) for row in conn.execute(query)]


def get_asset(engine: Engine, asset_tag: str) -> Asset:
    """One asset by tag; ``AssetNotFound`` if the register has no such tag."""
    with engine.connect() as conn:
        row = conn.execute(
            select(inventory_assets).where(inventory_assets.c.asset_tag == asset_tag)
        ).first()
    if row is None:
        raise AssetNotFound(asset_tag)
    return _asset(row)


def count_assets(engine: Engine) -> int:
    """How many assets the register holds."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inventory_assets)).scalar_one())


def list_imports(engine: Engine) -> Sequence[ImportResult]:
    """Every import, newest first."""
    query = select(inventory_imports).order_by(inventory_imports.c.id.desc())
    with engine.connect() as conn:
        return [
            ImportResult(
                row.id, row.assets, row.filename, row.sha256, ImportMode(row.mode), row.imported_at
            )
            for row in conn.execute(query)
        ]
