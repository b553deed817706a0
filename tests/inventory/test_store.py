"""The register in the state store: all-or-nothing imports, listing, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from inventory.errors import AssetNotFound, RegisterFileError, RegisterRejected
from inventory.models import AssetKind, AssetStatus
from inventory.register_io import register_to_csv, register_to_xlsx
from inventory.schema import inventory_imports
from inventory.store import (
    ImportMode,
    count_assets,
    get_asset,
    import_register,
    list_assets,
    list_imports,
)
from tests.inventory.builders import NOW, province_register


def imports_logged(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inventory_imports)).scalar_one())


def test_province_register_round_trips_through_the_store(engine: Engine, units_csv: Path) -> None:
    assets = province_register(units_csv)
    data = register_to_xlsx(assets)
    result = import_register(engine, data, filename="so-tai-san.xlsx", now=NOW)
    assert result.assets == len(assets) > 50
    assert len(result.sha256) == 64
    stored = list_assets(engine)
    assert stored == sorted(assets, key=lambda asset: asset.asset_tag)
    assert [i.import_id for i in list_imports(engine)] == [result.import_id]
    one = assets[0]
    assert get_asset(engine, one.asset_tag) == one


def test_filters_by_commune_kind_and_status(engine: Engine, units_csv: Path) -> None:
    assets = province_register(units_csv)
    import_register(engine, register_to_csv(assets), filename="r.csv", now=NOW)
    commune = assets[0].commune_code
    printers = list_assets(engine, commune_code=commune, kinds=[AssetKind.PRINTER])
    expected = [a for a in assets if a.commune_code == commune and a.kind is AssetKind.PRINTER]
    assert {a.asset_tag for a in printers} == {a.asset_tag for a in expected}
    assert printers
    broken = list_assets(engine, statuses=[AssetStatus.BROKEN])
    assert {a.asset_tag for a in broken} == {
        a.asset_tag for a in assets if a.status is AssetStatus.BROKEN
    }


def test_bad_row_names_sheet_row_column_and_stores_nothing(engine: Engine, units_csv: Path) -> None:
    assets = province_register(units_csv, communes=1)
    lines = register_to_csv(assets).decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    cost_column = header.index("Nguyên giá (VNĐ)")
    cells = lines[5].split(",")
    cells[cost_column] = "-5000000"
    lines[5] = ",".join(cells)
    bad = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    with pytest.raises(RegisterRejected) as caught:
        import_register(engine, bad, filename="bad.csv", now=NOW)
    [issue] = caught.value.issues
    assert (issue.sheet, issue.row, issue.column) == ("CSV", 6, "Nguyên giá (VNĐ)")
    assert count_assets(engine) == 0
    assert imports_logged(engine) == 0


def test_duplicate_of_a_stored_tag_rejects_the_whole_second_file(
    engine: Engine, units_csv: Path
) -> None:
    assets = province_register(units_csv, communes=2)
    first = [a for a in assets if a.commune_code == assets[0].commune_code]
    second = [a for a in assets if a.commune_code != assets[0].commune_code]
    import_register(engine, register_to_xlsx(first), filename="a.xlsx", now=NOW)
    with pytest.raises(RegisterRejected) as caught:
        import_register(engine, register_to_xlsx([*second, first[0]]), filename="b.xlsx", now=NOW)
    assert any(
        issue.code.startswith("duplicate") and issue.value == first[0].asset_tag
        for issue in caught.value.issues
    )
    assert count_assets(engine) == len(first)
    assert imports_logged(engine) == 1


def test_commune_outside_the_store_is_rejected(engine: Engine, units_csv: Path) -> None:
    # 00004 is a real commune code of Hà Nội, but the store serves Ninh Bình only.
    [asset] = province_register(units_csv, communes=1)[:1]
    foreign = asset.model_copy(update={"commune_code": "00004"})
    with pytest.raises(RegisterRejected) as caught:
        import_register(engine, register_to_csv([foreign]), filename="r.csv", now=NOW)
    assert caught.value.issues[0].column == "Mã xã"
    assert count_assets(engine) == 0


def test_replace_swaps_the_register_and_append_adds(engine: Engine, units_csv: Path) -> None:
    assets = province_register(units_csv, communes=2)
    import_register(engine, register_to_csv(assets), filename="all.csv", now=NOW)
    few = assets[:5]
    result = import_register(
        engine, register_to_csv(few), filename="few.csv", now=NOW, mode=ImportMode.REPLACE
    )
    assert result.mode is ImportMode.REPLACE
    assert [a.asset_tag for a in list_assets(engine)] == sorted(a.asset_tag for a in few)
    import_register(engine, register_to_csv(assets[5:8]), filename="more.csv", now=NOW)
    assert count_assets(engine) == 8


def test_unreadable_file_and_unknown_tag(engine: Engine) -> None:
    with pytest.raises(RegisterFileError):
        import_register(engine, b"not a workbook", filename="x.xlsx", now=NOW)
    with pytest.raises(AssetNotFound) as caught:
        get_asset(engine, "NO-SUCH-TAG")
    assert "NO-SUCH-TAG" in str(caught.value)
    assert imports_logged(engine) == 0


def test_migration_0002_matches_the_register_tables(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from inventory.schema import inventory_assets as assets_table

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, assets_table.metadata)
    ours = {"inventory_assets", "inventory_imports"}

    def table_of(change: object) -> str | None:
        item = change[0] if isinstance(change, list) else change
        for part in item[1:] if isinstance(item, tuple) else ():
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            if table is not None:
                return str(table.name)
            if isinstance(part, str) and part in ours:
                return part
            if name in ours:
                return str(name)
        return None

    assert [change for change in diff if table_of(change) in ours] == []


def test_concurrent_imports_of_one_file_store_it_once(engine: Engine, units_csv: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from inventory.errors import RegisterConflict

    assets = province_register(units_csv, communes=2)
    data = register_to_csv(assets)

    def attempt() -> str:
        try:
            import_register(engine, data, filename="r.csv", now=NOW)
        except RegisterRejected:
            return "rejected"  # read the first import's tags: duplicates found by the parser
        except RegisterConflict:
            return "conflict"  # raced past the parser: the unique constraints rolled it back
        return "stored"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: attempt(), range(2)))
    assert outcomes.count("stored") == 1
    assert count_assets(engine) == len(assets)
    assert imports_logged(engine) == 1
