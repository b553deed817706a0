"""The register in the state store: all-or-nothing imports, listing, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from collector import audit
from inventory.errors import AssetNotFound, RegisterFileError, RegisterRejected, RegisterTooLarge
from inventory.models import AssetKind, AssetStatus
from inventory.register_limits import RegisterBounds
from inventory.register_writer import register_to_csv, register_to_xlsx
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
from tests.inventory.register_attacks import MIB, huge_cell_csv, peak_memory


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
    assert [line for line in audit.latest(engine) if line["action"] == "register_imported"] == []


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


def test_a_100_mb_cell_is_refused_and_the_store_is_unchanged(
    engine: Engine, units_csv: Path
) -> None:
    import_register(
        engine, register_to_csv(province_register(units_csv, communes=1)), filename="r.csv", now=NOW
    )
    before = list_assets(engine), list_imports(engine)
    data = huge_cell_csv(100 * MIB)
    with peak_memory() as sized, pytest.raises(RegisterTooLarge) as by_size:
        import_register(engine, data, filename="big.csv", now=NOW)
    assert (by_size.value.bound, by_size.value.limit) == ("max_bytes", 64 * MIB)
    # A province that allows bigger files still never holds the cell.
    roomy = RegisterBounds(max_bytes=200 * MIB)
    with peak_memory() as streamed, pytest.raises(RegisterTooLarge) as by_cell:
        import_register(engine, data, filename="big.csv", now=NOW, bounds=roomy)
    assert (by_cell.value.bound, by_cell.value.row, by_cell.value.column) == (
        "max_cell_chars",
        2,
        "A",
    )
    assert (list_assets(engine), list_imports(engine)) == before
    assert sized.mib < 4
    assert streamed.mib < 16


def test_an_import_is_audited_with_its_actor_and_file(engine: Engine, units_csv: Path) -> None:
    assets = province_register(units_csv, communes=1)
    result = import_register(
        engine, register_to_csv(assets), filename="so.csv", now=NOW, actor="cli:tai-chinh"
    )
    [line] = [line for line in audit.latest(engine) if line["action"] == "register_imported"]
    assert line["actor"] == "cli:tai-chinh"
    assert line["target"] == f"import:{result.import_id}"
    assert f"assets={len(assets)}" in line["detail"]
    assert "so.csv" in line["detail"]
    assert "mode=append" in line["detail"]
