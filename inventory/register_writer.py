"""The asset register written as a sheet, an XLSX workbook or a CSV file that imports back.

Headers come from ``register_columns`` (Vietnamese or English), so every export reads back with
``register_reader``; a ``Tài sản cố định`` column is added for the reader of the file (the
importer ignores it: it is derived from the cost).
"""

from __future__ import annotations

from collections.abc import Iterable

from inventory.models import KIND_LABELS, STATUS_LABELS, Asset
from inventory.register_columns import FIXED_ASSET_COLUMN, REGISTER_FIELDS
from inventory.tables import Cell, Column, ColumnType, Lang, Sheet, to_csv, to_xlsx


def _asset_cells(asset: Asset, lang: Lang) -> tuple[Cell, ...]:
    kind_vi, kind_en = KIND_LABELS[asset.kind]
    status_vi, status_en = STATUS_LABELS[asset.status]
    revaluation = asset.revaluation
    values: dict[str, Cell] = {
        "asset_tag": asset.asset_tag,
        "kind": kind_vi if lang == "vi" else kind_en,
        "brand": asset.brand,
        "model": asset.model,
        "serial": asset.serial,
        "commune_code": asset.commune_code,
        "room": asset.room,
        "put_into_use": asset.put_into_use,
        "original_cost": asset.original_cost,
        "funding_source": asset.funding_source,
        "warranty_end": asset.warranty_end,
        "status": status_vi if lang == "vi" else status_en,
        "status_since": asset.status_since,
        "previous_owner": asset.previous_owner,
        "asset_class": asset.asset_class,
        "years_used_before_purchase": asset.years_used_before_purchase or None,
        "revaluation_year": revaluation.year if revaluation else None,
        "revalued_cost": revaluation.cost if revaluation else None,
        "revalued_remaining_value": revaluation.remaining_value if revaluation else None,
        "revalued_remaining_life": revaluation.remaining_life_years if revaluation else None,
    }
    return (*(values[spec.key] for spec in REGISTER_FIELDS), asset.is_fixed_asset)


def register_sheet(assets: Iterable[Asset], *, lang: Lang = "vi") -> Sheet:
    """The register as a sheet whose headers the importer reads back."""
    columns = (
        *(
            Column(
                spec.key,
                spec.header_vi,
                spec.header_en,
                spec.type,
                width=18 if spec.type is not ColumnType.TEXT else None,
            )
            for spec in REGISTER_FIELDS
        ),
        FIXED_ASSET_COLUMN,
    )
    return Sheet(
        "Sổ tài sản", "Register", columns, tuple(_asset_cells(asset, lang) for asset in assets)
    )


def register_to_xlsx(assets: Iterable[Asset], *, lang: Lang = "vi") -> bytes:
    """The register as an XLSX workbook (VND as ``#,##0``, dates ``dd/mm/yyyy``)."""
    return to_xlsx([register_sheet(assets, lang=lang)], lang=lang)


def register_to_csv(assets: Iterable[Asset], *, lang: Lang = "vi") -> bytes:
    """The register as CSV, UTF-8 with BOM."""
    return to_csv(register_sheet(assets, lang=lang), lang=lang)
